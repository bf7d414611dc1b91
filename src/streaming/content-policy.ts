import { normalizeText } from './normalize-text.js'

/** A rule that refuses text containing any of its terms. */
export interface TermsRule {
  /** Named in logs, metrics and the refusal; never the text it matched. */
  id: string
  /** Phrases, matched anywhere in the normalised text (normalize-text.ts). */
  terms: string[]
}

/** A rule that refuses text a regular expression matches. */
export interface PatternRule {
  id: string
  /**
   * A JavaScript regular expression (flag `u`), run on the normalised text, which is lower case: the
   * policy loader refuses upper-case letters in it (`[a-z]`, not `[A-Z]`). Not `i`: with `u`, V8's
   * case-insensitive `\b` made one pattern cost ~6 µs per check instead of ~0.2 (bench/moderation.ts).
   */
  pattern: string
  /** The longest text it can match, in normalised characters: how much a stream holds back for it. */
  maxMatchChars: number
}

export type ContentRule = TermsRule | PatternRule

/** A literal inside a `u` RegExp (where escaping anything else, `-` included, is a syntax error). */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/**
 * Rules compiled into one matcher: every term and pattern is one alternative of a single RegExp, so a
 * text is scanned once however many rules there are (100 rules: bench/moderation.ts). Which rule
 * matched is worked out only after a match, which is rare.
 */
export class ContentPolicy {
  /** The longest text any rule can match, in normalised characters. */
  readonly maxMatchChars: number
  readonly #matcher: RegExp
  /** Each normalised term and the rule it belongs to (the first rule that lists it). */
  readonly #termRules = new Map<string, string>()
  readonly #patterns: { id: string; regexp: RegExp }[]

  constructor(rules: ContentRule[]) {
    const alternatives: string[] = []
    const patterns: { id: string; regexp: RegExp }[] = []
    let maxMatchChars = 0
    for (const rule of rules) {
      if ('pattern' in rule) {
        patterns.push({ id: rule.id, regexp: new RegExp(rule.pattern, 'uy') })
        maxMatchChars = Math.max(maxMatchChars, rule.maxMatchChars)
        continue
      }
      for (const term of rule.terms) {
        const normalized = normalizeText(term)
        if (normalized === '' || this.#termRules.has(normalized)) continue
        this.#termRules.set(normalized, rule.id)
        maxMatchChars = Math.max(maxMatchChars, normalized.length)
      }
    }
    // Longest first: of two terms that start at the same place, the longer one names the rule.
    const terms = [...this.#termRules.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
    if (terms.length > 0) alternatives.push(terms.join('|'))
    for (const { regexp } of patterns) alternatives.push(`(?:${regexp.source})`)
    // No rule at all: a RegExp that never matches. `g`: for `lastIndex`, where a search starts.
    this.#matcher = new RegExp(alternatives.length > 0 ? alternatives.join('|') : '[^\\s\\S]', 'gu')
    this.#patterns = patterns
    this.maxMatchChars = maxMatchChars
  }

  /**
   * The id of a rule `text` breaks, or undefined; `text` is in matching form already (normalizeText).
   * Matches are looked for from `from` on (what a stream already checked before it is not scanned again;
   * lookbehinds and `\b` still see the text before it). With `more` (a stream that has not ended), a
   * pattern's match that reaches the end of `text` does not count yet (a term's does): the text that
   * follows may undo it (`\bcat\b` in "cat" before "alog" arrives); it is found again once a character
   * follows it, or at the end.
   */
  findInNormalized(text: string, more = false, from = 0): string | undefined {
    const matcher = this.#matcher
    matcher.lastIndex = from
    for (let match = matcher.exec(text); match !== null; match = matcher.exec(text)) {
      const term = this.#termRules.get(match[0])
      if (term !== undefined) return term
      const { index } = match
      // Not yet: a match further on (a term inside this one) may count now.
      if (more && index + match[0].length === text.length) {
        matcher.lastIndex = index + 1
        continue
      }
      // The pattern that matched there: each is sticky, tried at the match's own position.
      const pattern = this.#patterns.find(({ regexp }) => {
        regexp.lastIndex = index
        return regexp.test(text)
      })
      return pattern?.id ?? 'unknown'
    }
    return undefined
  }

  /** The id of a rule the whole of `text` breaks, or undefined. */
  find(text: string): string | undefined {
    return this.findInNormalized(normalizeText(text))
  }
}

/** Where refusals are counted (the metrics plugin implements it; streaming stays free of prom-client). */
export interface ModerationMeter {
  /** `rule` refused an input, or withheld an answer or the rest of a stream. */
  blocked(rule: string, direction: 'input' | 'output'): void
}
