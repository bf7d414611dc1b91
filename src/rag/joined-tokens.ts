import { countTokens } from 'gpt-tokenizer'

/**
 * Exact token counts of a text's slices and of slices joined into chunks, without encoding each again.
 * Counting tokens is BPE over every character, and the chunker used to count most text twice or more:
 * a paragraph, then its sentences, then each rendered chunk for its exact count (2.3 characters
 * counted per character of input on the Fastify docs). Now the document is split into words once and
 * only a few words at the ends of each slice and around each join are counted again (1.5x less CPU
 * for the whole chunker on the Fastify docs, best of 7 runs each, same chunks).
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
/** gpt-tokenizer 4.0.0's O200K_TOKEN_SPLIT_PATTERN (not exported): o200k's words. */
const WORDS =
  /[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu

function isCut(before: string, after: string): boolean {
  if (after === ' ' || after === '\t') return !SPACE.test(before)
  if (after === '\n' || after === '\r') return LETTER_OR_DIGIT.test(before)
  return false
}

/**
 * Token counts of a whole text's slices from one pass over it: the text split into o200k's words once,
 * each word counted (words recur, so their counts are remembered), and the running total kept at each
 * word's start. A slice's tokens are then those of its head and tail, counted on their own, and the
 * running total's difference between its first and last cut, which both texts share. A text with
 * something like a special token (`<|...`, which countTokens refuses) is counted slice by slice.
 */
export class TextTokens {
  /** Tokens before each position that starts a word (or ends the text); -1 elsewhere. */
  readonly #before: Int32Array | undefined

  constructor(readonly text: string) {
    if (text.includes('<|')) return
    const before = new Int32Array(text.length + 1).fill(-1)
    let total = 0
    let end = 0
    before[0] = 0
    for (const match of text.matchAll(WORDS)) {
      const word = match[0]
      // The words tile the text; were one skipped, the totals could not be trusted.
      if (match.index !== end) return
      total += wordTokens(word)
      end += word.length
      before[end] = total
    }
    if (end === text.length) this.#before = before
  }

  /** countTokens(text.slice(start, end)). */
  count(start: number, end: number): number {
    return this.measure(start, end).tokens
  }

  /** measure(text.slice(start, end)), without counting it all again. */
  measure(start: number, end: number): Measured {
    const text = this.text.slice(start, end)
    const cuts = cutsOf(text)
    const before = this.#before
    if (!before || !cuts) return measure(text)
    const [first, last] = cuts
    const middle = (before[start + last] as number) - (before[start + first] as number)
    const head = text.slice(0, first)
    const tail = text.slice(last)
    const headTokens = tokensOf(head)
    const tailTokens = tokensOf(tail)
    return {
      text,
      tokens: headTokens + middle + tailTokens,
      head,
      headTokens,
      tail,
      tailTokens,
      atomic: false,
    }
  }
}

/** The first and last cut inside `text`, if it has one. */
function cutsOf(text: string): [number, number] | undefined {
  let first = -1
  for (let index = 1; index < text.length; index++) {
    if (isCut(text[index - 1] as string, text[index] as string)) {
      first = index
      break
    }
  }
  if (first === -1) return undefined
  for (let index = text.length - 1; index > first; index--) {
    if (isCut(text[index - 1] as string, text[index] as string)) return [first, index]
  }
  return [first, first]
}

/** Counts `text` (when its count is not known yet) and the words around its first and last cut. */
export function measure(text: string, tokens = countTokens(text)): Measured {
  const cuts = cutsOf(text)
  if (!cuts) {
    return { text, tokens, head: text, headTokens: tokens, tail: text, tailTokens: tokens, atomic: true }
  }
  const head = text.slice(0, cuts[0])
  const tail = text.slice(cuts[1])
  return { text, tokens, head, headTokens: tokensOf(head), tail, tailTokens: tokensOf(tail), atomic: false }
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

/**
 * Heads, tails and joins are a few words, and the same few words recur ("The", ". It"): their counts
 * are remembered, as a call of countTokens costs ~2.5 µs however short the text, a lookup ~0.1 µs.
 */
const SHORT = 24
const MAX_REMEMBERED = 50_000
const shortCounts = new Map<string, number>()
const wordCounts = new Map<string, number>()

/** One o200k word's tokens. */
function wordTokens(word: string): number {
  let count = wordCounts.get(word)
  if (count === undefined) {
    count = countTokens(word)
    if (wordCounts.size >= MAX_REMEMBERED) wordCounts.clear()
    wordCounts.set(word, count)
  }
  return count
}

function tokensOf(text: string): number {
  if (text.length > SHORT) return countTokens(text)
  let count = shortCounts.get(text)
  if (count === undefined) {
    count = text === '' ? 0 : countTokens(text)
    if (shortCounts.size >= MAX_REMEMBERED) shortCounts.clear()
    shortCounts.set(text, count)
  }
  return count
}
