/**
 * The embedding models the server knows by name: their widths and each provider's default. Configuration
 * resolves EMBEDDING_* with them (config.ts); the embedders check answers against them (providers/).
 */

/** Widths of well-known embedding models, so EMBEDDING_DIMENSIONS is needed only for others. */
export const KNOWN_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
  'nomic-embed-text': 768,
  'mxbai-embed-large': 1024,
  'all-minilm': 384,
  'bge-m3': 1024,
  'snowflake-arctic-embed': 1024,
}

/**
 * The cosine similarity a model typically gives the best passage for a question the documents do not
 * answer: vector relevance counts from there (src/rag/relevance.ts, README "Scores"). Models differ a
 * lot (ada-002 rates almost any two texts above 0.7). These are starting points from the similarity
 * ranges the models are known for, not measured here: EMBEDDING_UNRELATED_COSINE overrides them.
 */
export const UNRELATED_COSINE: Record<string, number> = {
  'text-embedding-3-small': 0.2,
  'text-embedding-3-large': 0.2,
  'text-embedding-ada-002': 0.75,
}

/** For models not listed above. */
export const DEFAULT_UNRELATED_COSINE = 0.3

/** The model each provider uses when EMBEDDING_MODEL is not set. */
export const DEFAULT_EMBEDDING_MODEL = {
  openai: 'text-embedding-3-small',
  ollama: 'nomic-embed-text',
} as const

/** The embedding model resolved from EMBEDDING_* (undefined: keyword-only retrieval). */
export interface EmbeddingSettings {
  provider: 'openai' | 'ollama'
  model: string
  dimensions: number
  /** Cosine similarity under which a passage is not related at all (see UNRELATED_COSINE). */
  unrelatedCosine: number
}
