/**
 * Query analysis shared by every store: which words of a question carry its meaning (content words,
 * after stop words) and in which form they are compared (folded, lightly stemmed). Retrieval scores a
 * passage by how much of that vocabulary it covers (./relevance.ts), the same way whatever engine
 * found it; the engines (LanceDB's BM25, PostgreSQL's full-text search) get the content words only.
 */

/**
 * English function words and the words every question is phrased with ("how do I ..."). A question
 * made of these alone ("how does it work?") keeps them: it has nothing else to match.
 */
const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being ' +
    'below between both but by can cannot could did do does doing done down during each either else ' +
    'even ever every few for from further get gets getting got had has have having he her here hers ' +
    'herself him himself his how i if in into is it its itself just let lets like made make makes many ' +
    'may me might mine more most much must my myself need needs no nor not now of off on once one only ' +
    'or other others our ours ourselves out over own per please same shall she should so some such ' +
    'than that the their theirs them themselves then there these they this those though through to ' +
    'too under until up upon us use used uses using very via was way ways we were what whats when ' +
    'where whether which while who whom whose why will with within without would yet you your yours ' +
    'yourself yourselves'
  ).split(' '),
)

/** `http/2`: a name and its version, read as one word. */
const SLASHED_VERSION = /\b([a-z]{2,})\/([0-9])\b/g

/** A word of letters and digits; `HTTP/2` and `HTTP2` are one word (see `fold`). */
const WORD = /[\p{L}\p{N}]+/gu

/** Lower case without accents; a name and its version written with a slash (`HTTP/2`) become one word. */
function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(SLASHED_VERSION, '$1$2')
}

/** Stems already computed: every candidate passage of every question is stemmed word by word. */
const stems = new Map<string, string>()
/** Distinct words remembered; a vocabulary is far smaller, so the map is only cleared on odd input. */
const STEMS_REMEMBERED = 100_000

/**
 * A light English stemmer (plural, -ing, -ed, -ly): enough that "handlers" finds "handler" and
 * "decorating" finds "decorate". Both sides go through it, so it needs to be consistent, not linguistic.
 */
export function stem(word: string): string {
  let stemmed = stems.get(word)
  if (stemmed === undefined) {
    if (stems.size >= STEMS_REMEMBERED) stems.clear()
    stemmed = stemWord(word)
    stems.set(word, stemmed)
  }
  return stemmed
}

function stemWord(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word
  let base = word
  if (base.endsWith('ies') && base.length > 4) base = `${base.slice(0, -3)}y`
  else if (base.endsWith('sses')) base = base.slice(0, -2)
  else if (base.endsWith('s') && !/(ss|us|is)$/.test(base)) base = base.slice(0, -1)
  for (const suffix of ['ing', 'ed', 'ly']) {
    if (base.endsWith(suffix) && base.length - suffix.length >= 3) {
      base = base.slice(0, -suffix.length)
      // running -> run, stopped -> stop
      if (/([b-df-hj-np-tv-z])\1$/.test(base) && !/(ll|ss|zz)$/.test(base)) base = base.slice(0, -1)
      break
    }
  }
  // decorate / decorating / decorated meet at "decorat"
  if (base.endsWith('e') && base.length > 4) base = base.slice(0, -1)
  return base
}

/** ASCII words: most passages are ASCII, and this pattern matches them ~3x faster than Unicode classes. */
const ASCII_WORD = /[a-z0-9]+/g
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
const ASCII = /^[\u0000-\u007f]*$/

/** The words of a text, folded, in order (stop words included): what a passage is matched against. */
export function words(text: string): string[] {
  if (ASCII.test(text)) return text.toLowerCase().replace(SLASHED_VERSION, '$1$2').match(ASCII_WORD) ?? []
  return fold(text).match(WORD) ?? []
}

/** What retrieval needs to know about a question. */
export interface QueryTerms {
  /** The content words as written (folded), for the search engines, in question order without repeats. */
  words: string[]
  /** Their stems, aligned with `words`. */
  stems: string[]
}

/** The content words of a question: stop words dropped unless nothing else is left; repeats dropped. */
export function queryTerms(question: string): QueryTerms {
  const all = words(question)
  const content = all.filter((word) => !STOP_WORDS.has(word))
  const chosen = content.length > 0 ? content : all
  const seen = new Set<string>()
  const terms: QueryTerms = { words: [], stems: [] }
  for (const word of chosen) {
    const stemmed = stem(word)
    if (seen.has(stemmed)) continue
    seen.add(stemmed)
    terms.words.push(word)
    terms.stems.push(stemmed)
  }
  return terms
}

/** True for a word that carries no meaning on its own in a passage (used to measure proximity). */
export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word)
}
