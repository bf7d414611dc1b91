import type { CallOptions } from '../providers/provider.js'
import type { EmbeddingCache } from './embedding-cache.js'
import type { DocumentStore, Metadata, SearchHit } from './types.js'

export interface RetrieveOptions {
  /** How many chunks to return. */
  topK: number
  /** Exact-match metadata filter. */
  filter?: Metadata
  /** Drop chunks whose fused score is below this (0 to 1). */
  minScore?: number
}

export interface RetrievedChunk extends SearchHit {
  /** Fused score in [0, 1]: 1 is first in every ranking used. */
  score: number
}

/** The constant of reciprocal rank fusion (Cormack et al., 2009): damps the weight of top ranks. */
const RRF_K = 60

/**
 * Hybrid retrieval: keyword search and, when embeddings are configured, vector search, each asked for
 * more candidates than needed, fused by reciprocal rank fusion. The fused score is normalised so 1.0
 * means first in every ranking; with keyword search alone it reflects the keyword rank only.
 */
export async function retrieve(
  store: DocumentStore,
  embeddings: EmbeddingCache | undefined,
  query: string,
  options: RetrieveOptions,
  call: CallOptions,
): Promise<RetrievedChunk[]> {
  const candidates = { topK: Math.max(options.topK * 4, 20), filter: options.filter }
  const rankings = await Promise.all([
    store.searchKeyword(query, candidates),
    embeddings
      ? embeddings
          .embed([query], call)
          .then(({ vectors }) => store.searchVector(vectors[0] as Float32Array, candidates))
      : Promise.resolve(undefined),
  ])
  const used = rankings.filter((ranking): ranking is SearchHit[] => ranking !== undefined)
  const fused = new Map<string, { hit: SearchHit; score: number }>()
  for (const ranking of used) {
    for (const [rank, hit] of ranking.entries()) {
      const entry = fused.get(hit.chunk.id) ?? { hit, score: 0 }
      entry.score += 1 / (RRF_K + rank + 1)
      fused.set(hit.chunk.id, entry)
    }
  }
  const best = used.length / (RRF_K + 1)
  return [...fused.values()]
    .map(({ hit, score }) => ({ ...hit, score: score / best }))
    .filter((hit) => hit.score >= (options.minScore ?? 0))
    .sort((a, b) => b.score - a.score || (a.chunk.id < b.chunk.id ? -1 : 1))
    .slice(0, options.topK)
}
