import type { Config } from '../config.js'
import { ProviderNotConfiguredError } from '../errors.js'
import {
  type Embedder,
  type EmbeddingSpace,
  OllamaEmbedder,
  OpenAIEmbedder,
} from '../providers/embeddings.js'
import type { OllamaProviderOptions } from '../providers/ollama.js'
import type { OpenAIOptions } from '../providers/openai.js'
import { Documents, type DocumentsMeter } from './documents.js'
import { EmbeddingCache } from './embedding-cache.js'
import type { Chunker } from './ingest.js'
import { loadLanceStore } from './stores/lancedb/load.js'
import type { DocumentStore } from './types.js'

export interface RagDependencies {
  /** How to reach OpenAI, when OPENAI_API_KEY is set. */
  openai: OpenAIOptions | undefined
  ollama: OllamaProviderOptions
  /** Replaces the store chosen from the config (tests). */
  store?: DocumentStore
  /** Receives each document operation (metrics); undefined when metrics are off. */
  meter?: DocumentsMeter
  /** Where chunkAhead() chunks (Ingestor); by default the Ingestor's own worker threads. */
  chunker?: Chunker | undefined
}

/** The store the config asks for: PostgreSQL when DATABASE_URL is set, else LanceDB under RAG_DATA_DIR. */
export async function createStore(config: Config): Promise<DocumentStore> {
  // Each adapter is loaded only when chosen: PostgreSQL deployments never load LanceDB's native module,
  // and the embedded setup never loads the pg driver.
  if (config.DATABASE_URL) {
    const { PostgresStore } = await import('./stores/postgres/store.js')
    return new PostgresStore({ connectionString: config.DATABASE_URL })
  }
  const { LanceStore } = await loadLanceStore(config)
  return new LanceStore({ directory: config.RAG_DATA_DIR, readConsistencyMs: config.RAG_READ_CONSISTENCY_MS })
}

/** Keeps the configured embedding space known (so the store can open) while answering 503 to calls. */
class UnconfiguredEmbedder implements Embedder {
  constructor(readonly space: EmbeddingSpace) {}
  async embed(): Promise<never> {
    throw new ProviderNotConfiguredError('OpenAI embeddings', 'OPENAI_API_KEY')
  }
}

/** The document library the config asks for: its store, and its embedder when embeddings are configured. */
export async function createDocuments(config: Config, dependencies: RagDependencies): Promise<Documents> {
  const settings = config.embedding
  let embedder: Embedder | undefined
  if (settings?.provider === 'openai') {
    embedder = dependencies.openai
      ? new OpenAIEmbedder(dependencies.openai, settings.model, settings.dimensions)
      : new UnconfiguredEmbedder({ model: `openai:${settings.model}`, dimensions: settings.dimensions })
  } else if (settings?.provider === 'ollama') {
    embedder = new OllamaEmbedder(dependencies.ollama, settings.model, settings.dimensions)
  }
  const store = dependencies.store ?? (await createStore(config))
  const embeddings = embedder
    ? new EmbeddingCache(embedder, {
        store,
        capacity: config.EMBEDDING_CACHE_ENTRIES,
        unrelatedCosine: settings?.unrelatedCosine,
      })
    : undefined
  return new Documents({
    store,
    embeddings,
    space: embedder?.space ?? { model: 'none', dimensions: 0 },
    chunking: { maxTokens: config.CHUNK_TOKENS, overlapTokens: config.CHUNK_OVERLAP_TOKENS },
    meter: dependencies.meter,
    minScore: config.RAG_MIN_SCORE,
    chunker: dependencies.chunker,
  })
}
