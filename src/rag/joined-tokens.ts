import { countTokens } from 'gpt-tokenizer'

/**
 * Exact token counts of texts joined from pieces already counted, without encoding the joined text
 * again. Counting tokens is BPE over every character, and the chunker used to count each chunk twice:
 * its pieces to pack them, then the rendered chunk for its exact count (2.3 characters counted per
 * character of input on the Fastify docs). Now only a few words around each join are counted again.
 *
 * Why it is exact: o200k first splits text into words with one regex (gpt-tokenizer's
 * O200K_TOKEN_SPLIT_PATTERN) and encodes each word on its own, so a count is the sum over the words.
 * A position is a *cut* when no word of the split can contain the characters on both sides of it, and
 * the regex has no look-behind; the words before a cut are then the same in any text that starts
 * the same way, and the words after it the same in any text that ends the same way. Two cuts are
 * proven from the pattern:
 * - before a space or tab that follows a non-space: no alternative continues a word into a space (a
 *   space can only open a word, as the optional first character);
 * - before a line break that follows a letter or digit: the letter and digit alternatives never take
 *   one (only punctuation runs take the line breaks after them, `[\r\n/]*`).
 * So count(A + sep + B) = count(A) + count(B) - count(tail of A) - count(head of B)
 *   + count(tail of A + sep + head of B), the tail starting at A's last cut and the head ending at
 * B's first cut. A piece with no cut inside (a single word, text without spaces) is joined whole.
 * A property test checks this against countTokens on the joined text (test/rag/joined-tokens.test.ts).
 */
export interface Measured {
  text: string
  tokens: number
  /** The text up to its first cut, and its tokens; the whole text when it has no cut. */
  head: string
  headTokens: number
  /** The text from its last cut. */
  tail: string
  tailTokens: number
  /** No cut inside: its head and tail would overlap. */
  atomic: boolean
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u
const SPACE = /\s/u

function isCut(before: string, after: string): boolean {
  if (after === ' ' || after === '\t') return !SPACE.test(before)
  if (after === '\n' || after === '\r') return LETTER_OR_DIGIT.test(before)
  return false
}

/** Counts `text` (when its count is not known yet) and the words around its first and last cut. */
export function measure(text: string, tokens = countTokens(text)): Measured {
  let first = -1
  for (let index = 1; index < text.length; index++) {
    if (isCut(text[index - 1] as string, text[index] as string)) {
      first = index
      break
    }
  }
  if (first === -1) {
    return { text, tokens, head: text, headTokens: tokens, tail: text, tailTokens: tokens, atomic: true }
  }
  let last = first
  for (let index = text.length - 1; index > first; index--) {
    if (isCut(text[index - 1] as string, text[index] as string)) {
      last = index
      break
    }
  }
  const head = text.slice(0, first)
  const tail = text.slice(last)
  return {
    text,
    tokens,
    head,
    headTokens: countTokens(head),
    tail,
    tailTokens: countTokens(tail),
    atomic: false,
  }
}

/** Tokens of `parts[0].text + parts[1].separator + parts[1].text + ...`, the first separator ignored. */
export function joinedTokens(parts: { measured: Measured; separator: string }[]): number {
  let total = 0
  // Text since the last cut, not counted yet.
  let open = ''
  for (const [index, { measured, separator }] of parts.entries()) {
    const joint = index === 0 ? '' : separator
    if (measured.atomic) {
      open += joint + measured.text
      continue
    }
    total += tokensOf(open + joint + measured.head)
    total += measured.tokens - measured.headTokens - measured.tailTokens
    open = measured.tail
  }
  return total + tokensOf(open)
}

const tokensOf = (text: string) => (text === '' ? 0 : countTokens(text))
