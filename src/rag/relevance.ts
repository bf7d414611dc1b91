import { isStopWord, type QueryTerms, stem, words } from './query-terms.js'
import type { SearchHit } from './types.js'

/**
 * Calibrated relevance: a score in [0, 1] that means the same from one question to the next, in every
 * mode and store (README "Scores"). Engine scores do not: BM25 and ts_rank_cd have no upper bound and
 * depend on the corpus and the question's length, and ranks say nothing about absolute relevance.
 *
 * - keyword relevance: the share of the question's vocabulary the passage covers (content words,
 *   weighted by how rare they are among the candidates, so "fastify" in a question about the Fastify
 *   docs counts little and a word no passage has counts most), scaled by how well it covers it: how
 *   often it uses them, the words found in the title or heading path, and the words found together.
 *   The engines' own scores only choose the candidates: they differ between the stores.
 * - vector relevance: the cosine similarity, counted from the cosine the embedding model gives
 *   unrelated texts (EMBEDDING_UNRELATED_COSINE), so 0 is unrelated and 1 the same text.
 * - hybrid: the stronger of the two, plus part of the weaker: evidence from both adds up, yet a
 *   passage found by one method only keeps its own score.
 */

/** A passage found by keyword search, vector search or both, with each engine's raw score. */
export interface Candidate {
  hit: SearchHit
  /** The keyword engine's score (BM25, ts_rank_cd); not used for relevance, which must not depend on the store. */
  keyword?: number
  /** Cosine similarity to the question. */
  vector?: number
}

export interface ScoredCandidate extends Candidate {
  /** Calibrated relevance in [0, 1]. */
  score: number
}

/** How much a covered word counts: by coverage itself, how often, title/headings, proximity. */
const WEIGHTS = { coverage: 0.6, frequency: 0.2, headings: 0.1, proximity: 0.1 }
/** BM25's term-frequency saturation and length normalisation (Robertson's usual values). */
const K1 = 1.2
const B = 0.75
/** Share of the weaker method's score a hybrid score adds to the stronger one's. */
const SECOND_OPINION = 0.3
/** Content words at most this far apart in a passage count as found together. */
const NEAR = 3

/** What the scorer needs of a passage: where the question's words are in it (nothing else is kept). */
interface PassageTerms {
  /** The question's stems found in the passage or its title. */
  stems: Set<string>
  /** The question's stems found in its title or heading path. */
  headingStems: Set<string>
  /** Positions of each of the question's stems in the passage's sequence of content words. */
  positions: Map<string, number[]>
  /** How many content words the passage has. */
  length: number
}

/**
 * Rarity is measured as if among this many candidates, whatever number the engines returned: fewer
 * (few passages match at all) leaves a word rare, more (a large top_k, or both engines' candidates)
 * counts proportionally. So a score does not depend on top_k.
 */
export const RARITY_POOL = 50

/** Scores the candidates of one question. */
export function scoreCandidates(
  query: QueryTerms,
  candidates: Candidate[],
  { unrelatedCosine }: { unrelatedCosine: number },
): ScoredCandidate[] {
  const wanted = new Set(query.stems)
  const passages = candidates.map(({ hit }) => passageTerms(hit, wanted))
  const weights = termWeights(query, passages)
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  const averageLength = passages.reduce((sum, passage) => sum + passage.length, 0) / (passages.length || 1)
  return candidates.map((candidate, index) => {
    const passage = passages[index] as PassageTerms
    const covered = (stems: Set<string>) =>
      total === 0
        ? 0
        : query.stems.reduce((sum, term, at) => sum + (stems.has(term) ? (weights[at] ?? 0) : 0), 0) / total
    const coverage = covered(passage.stems)
    const frequency = termFrequency(query.stems, weights, passage, averageLength)
    const quality =
      WEIGHTS.coverage +
      WEIGHTS.frequency * frequency +
      WEIGHTS.headings * covered(passage.headingStems) +
      WEIGHTS.proximity * proximity(query.stems, passage)
    const keyword = coverage * quality
    const vector = vectorRelevance(candidate.vector ?? 0, unrelatedCosine)
    const score =
      Math.max(keyword, vector) + SECOND_OPINION * Math.min(keyword, vector) * (1 - Math.max(keyword, vector))
    return { ...candidate, score }
  })
}

/** Cosine similarity rescaled so the model's cosine for unrelated texts is 0 and the same text is 1. */
export function vectorRelevance(cosine: number, unrelatedCosine: number): number {
  return Math.min(1, Math.max(0, (cosine - unrelatedCosine) / (1 - unrelatedCosine)))
}

/** Rarity among the candidates (BM25's idf shape): a word in every candidate still counts a little. */
function termWeights(query: QueryTerms, passages: PassageTerms[]): number[] {
  const scale = RARITY_POOL / Math.max(RARITY_POOL, passages.length)
  return query.stems.map((term) => {
    const frequency = passages.filter((passage) => passage.stems.has(term)).length
    return Math.log(1 + (RARITY_POOL + 1) / (frequency * scale + 0.5))
  })
}

function passageTerms(hit: SearchHit, wanted: Set<string>): PassageTerms {
  const stems = new Set<string>()
  const positions = new Map<string, number[]>()
  let position = 0
  for (const word of words(hit.chunk.text)) {
    const stemmed = stem(word)
    if (wanted.has(stemmed)) {
      stems.add(stemmed)
      const at = positions.get(stemmed)
      if (at) at.push(position)
      else positions.set(stemmed, [position])
    }
    // Stop words do not count as distance: "error handler" is near "error in the handler".
    if (!isStopWord(word)) position++
  }
  const headings = words(`${hit.document.title}\n${headingsOf(hit.chunk.text)}`).map(stem)
  const headingStems = new Set(headings.filter((term) => wanted.has(term)))
  for (const term of headingStems) stems.add(term)
  return { stems, headingStems, positions, length: position }
}

/**
 * How often the passage uses the question's words for its length, as BM25 counts it but bounded: each
 * covered word's saturated frequency (0 to 1) averaged by weight. Computed here rather than taken from
 * the engine, whose scores differ between LanceDB and PostgreSQL for the same passage.
 */
function termFrequency(terms: string[], weights: number[], passage: PassageTerms, averageLength: number) {
  const norm = 1 - B + (B * passage.length) / (averageLength || 1)
  let weighted = 0
  let total = 0
  for (const [index, term] of terms.entries()) {
    const count = passage.positions.get(term)?.length ?? 0
    if (count === 0) continue
    const weight = weights[index] ?? 0
    weighted += (weight * count) / (count + K1 * norm)
    total += weight
  }
  return total === 0 ? 0 : weighted / total
}

/**
 * The headings of a chunk: the chunker starts each chunk with its heading path (`A > B`, then a blank
 * line) unless it starts with the heading line itself; Markdown heading lines inside count too.
 */
export function headingsOf(text: string): string {
  const lines = text.split('\n')
  const headings = lines.filter((line) => /^#{1,6}\s/.test(line))
  const first = lines[0] ?? ''
  if (!first.startsWith('#') && lines[1] === '' && first.length <= 200) headings.push(first)
  return headings.join('\n')
}

/** Share of the question's consecutive content-word pairs found near each other in the passage. */
function proximity(terms: string[], passage: PassageTerms): number {
  if (terms.length < 2) return terms.some((term) => passage.stems.has(term)) ? 1 : 0
  let near = 0
  for (let index = 1; index < terms.length; index++) {
    const left = passage.positions.get(terms[index - 1] as string)
    const right = passage.positions.get(terms[index] as string)
    if (left && right && closest(left, right) <= NEAR) near++
  }
  return near / (terms.length - 1)
}

/** The smallest distance between two ascending lists of positions, in one pass over both. */
function closest(left: number[], right: number[]): number {
  let best = Number.POSITIVE_INFINITY
  let i = 0
  let j = 0
  while (i < left.length && j < right.length) {
    const a = left[i] as number
    const b = right[j] as number
    best = Math.min(best, Math.abs(a - b))
    if (a < b) i++
    else j++
  }
  return best
}
