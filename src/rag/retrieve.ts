import type { CallOptions } from '../providers/provider.js'
import type { EmbeddingCache } from './embedding-cache.js'
import { type QueryTerms, queryTerms } from './query-terms.js'
import { type Candidate, RARITY_POOL, scoreCandidates } from './relevance.js'
import type { DocumentStore, Metadata, SearchHit } from './types.js'

export interface RetrieveOptions {
  /** How many chunks to return. */
  topK: number
  /** Exact-match metadata filter. */
  filter?: Metadata
  /** Drop chunks whose relevance is below this (0 to 1; README "Scores"). */
  minScore?: number
}

export interface RetrievedChunk extends SearchHit {
  /** Calibrated relevance in [0, 1], comparable across questions, modes and stores (./relevance.ts). */
  score: number
}

/**
 * Candidates asked of each engine. Relevance is computed over them, so the pool is wider than the
 * answer: the passage that covers the question best may be 30th by the engine's own ranking.
 */
const poolSize = (topK: number) => Math.max(topK * 4, RARITY_POOL)

/**
 * Hybrid retrieval: keyword search on the question's content words and, when embeddings are
 * configured, vector search; every candidate is then scored by calibrated relevance (./relevance.ts),
 * and those under `minScore` are dropped.
 */
export async function retrieve(
  store: DocumentStore,
  embeddings: EmbeddingCache | undefined,
  query: string,
  options: RetrieveOptions,
  call: CallOptions,
): Promise<RetrievedChunk[]> {
  const terms = queryTerms(query)
  const pool = poolSize(options.topK)
  const candidates = { topK: pool, filter: options.filter }
  const [keyword, vector] = await Promise.all([
    store.searchKeyword(engineQuery(terms), candidates),
    embeddings
      ? embeddings
          .embed([query], call)
          .then(({ vectors }) => store.searchVector(vectors[0] as Float32Array, candidates))
      : Promise.resolve([]),
  ])
  const merged = new Map<string, Candidate>()
  for (const hit of keyword) merged.set(hit.chunk.id, { hit, keyword: hit.score })
  for (const hit of vector) {
    const found = merged.get(hit.chunk.id)
    if (found) found.vector = hit.score
    else merged.set(hit.chunk.id, { hit, vector: hit.score })
  }
  const unrelatedCosine = embeddings?.unrelatedCosine ?? 0
  return scoreCandidates(terms, [...merged.values()], { unrelatedCosine })
    .filter((candidate) => candidate.score >= (options.minScore ?? 0))
    .sort((a, b) => b.score - a.score || (a.hit.chunk.id < b.hit.chunk.id ? -1 : 1))
    .slice(0, options.topK)
    .map(({ hit, score }) => ({ ...hit, score }))
}

/**
 * What the keyword engines search for: the content words, ORed by both stores. A name written with
 * its version (`http2`) is also searched as its parts, as the engines split `HTTP/2`.
 */
function engineQuery(terms: QueryTerms): string {
  const parts = terms.words.flatMap((word) => {
    const split = /^([a-z]{2,})([0-9]+)$/.exec(word)
    return split ? [word, split[1] as string, split[2] as string] : [word]
  })
  return parts.join(' ')
}
