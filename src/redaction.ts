/**
 * Masks secrets in text that crosses our boundary: upstream text shown to a client or logged, and (with
 * `secretMask`) every log line. Two kinds: anything shaped like a credential (an `sk-` key, a Bearer
 * token), and the exact secrets the configuration holds, whatever their shape (an Azure key, a gateway's
 * or proxy's token, a database password), wherever they occur, inside a word too (`token_<key>`).
 *
 * The configuration is read once and passed down, so this module never reads it: the app registers its
 * secrets when it is built (plugins/redaction.ts) and withdraws them when it closes.
 */

const MASK = '[redacted]'

// A key may follow `_` (`token_sk-…`), which \b counts as part of the word: only a letter or digit
// right before the prefix keeps it from being a key (`network-timeout` is not `rk-timeout`).
const SECRET_PATTERNS = [
  /(?<![A-Za-z0-9])(sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi,
]

/**
 * Shorter values are not masked: they occur in ordinary words (a password `pass` would mask every
 * "password" in every log line) and guessing them takes no leak.
 */
export const MIN_SECRET_LENGTH = 4

/** The ways a secret appears in text: as is, escaped inside a JSON string (a log line), percent-encoded. */
function formsOf(secret: string): string[] {
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]
}

/** A function that masks every occurrence of each secret, in each of its forms (the longest first). */
export function secretMask(secrets: Iterable<string>): (text: string) => string {
  const forms = [
    ...new Set([...secrets].filter((secret) => secret.length >= MIN_SECRET_LENGTH).flatMap(formsOf)),
  ]
  forms.sort((a, b) => b.length - a.length)
  if (forms.length === 0) return (text) => text
  return (text) => {
    let masked = text
    for (const form of forms) if (masked.includes(form)) masked = masked.replaceAll(form, MASK)
    return masked
  }
}

/** Each registered secret, and how many apps registered it (tests build several apps in one process). */
const registered = new Map<string, number>()
let maskRegistered = secretMask([])

/** Masks `secrets` in everything redactSecrets sees, until the returned function withdraws them. */
export function registerSecrets(secrets: Iterable<string>): () => void {
  const added = [...new Set(secrets)]
  for (const secret of added) registered.set(secret, (registered.get(secret) ?? 0) + 1)
  maskRegistered = secretMask(registered.keys())
  let withdrawn = false
  return () => {
    if (withdrawn) return
    withdrawn = true
    for (const secret of added) {
      const count = (registered.get(secret) ?? 1) - 1
      if (count === 0) registered.delete(secret)
      else registered.set(secret, count)
    }
    maskRegistered = secretMask(registered.keys())
  }
}

/** Masks the registered secrets and anything shaped like a credential. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((result, pattern) => result.replace(pattern, MASK), maskRegistered(text))
}
