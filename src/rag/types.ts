/** The RAG data model, shared by the stores, ingestion and retrieval. */

import type { EmbeddingSpace } from '../providers/embeddings.js'

/** Metadata values a filter can match exactly. */
export type MetadataValue = string | number | boolean
export type Metadata = Record<string, MetadataValue>

/** A document as stored, without its chunks. */
export interface StoredDocument {
  /** Stable id: the caller's, or derived from `source` (else the text) so re-ingesting replaces. */
  id: string
  /** A human title; the first heading or the file name when not given. */
  title: string
  /** Where it came from (a path or URL); empty when unknown. */
  source: string
  /** Caller-defined key/values, matched exactly by filters. */
  metadata: Metadata
  /** sha256 of the text, to skip unchanged re-sends. */
  textHash: string
  /** How many chunks it was split into. */
  chunkCount: number
  /** ISO timestamps. */
  createdAt: string
  updatedAt: string
}

/** One retrievable piece of a document. */
export interface StoredChunk {
  /** `<documentId>:<index>`. */
  id: string
  documentId: string
  /** Position within the document, from 0. */
  index: number
  /** The chunk text, as embedded and searched (heading path included). */
  text: string
  /** sha256 of `text`: the embedding cache key, with the model. */
  textHash: string
  /** Tokens in `text` (cl100k/o200k as the chunker counts). */
  tokenCount: number
  /** The embedding, when the store has embeddings. */
  vector?: Float32Array
}

export interface SearchOptions {
  /** How many hits at most. */
  topK: number
  /** Exact-match metadata filter: every key must equal. */
  filter?: Metadata
}

/** A chunk found by a search, with what is needed to cite it. */
export interface SearchHit {
  chunk: Omit<StoredChunk, 'vector'>
  document: Pick<StoredDocument, 'id' | 'title' | 'source' | 'metadata'>
  /** Higher is better; comparable only within one search method. */
  score: number
}

export interface Page<T> {
  items: T[]
  total: number
}

/**
 * The document store. Both adapters (LanceDB embedded, PostgreSQL + pgvector) pass one contract suite.
 */
export interface DocumentStore {
  /** Creates or opens the store; rejects with EmbeddingMismatchError when built with another space. */
  open(space: EmbeddingSpace): Promise<void>
  /** Inserts or replaces a document and all its chunks, atomically for readers. */
  upsert(document: StoredDocument, chunks: StoredChunk[]): Promise<void>
  /** The same for several documents (distinct ids) in as few commits as the store allows (ingestion batches). */
  upsertMany(entries: { document: StoredDocument; chunks: StoredChunk[] }[]): Promise<void>
  get(id: string): Promise<StoredDocument | undefined>
  /** The documents of these ids that exist, in any order: one read for an ingestion batch. */
  getMany(ids: string[]): Promise<StoredDocument[]>
  /** The document's chunks in order, without vectors. */
  chunks(id: string): Promise<Omit<StoredChunk, 'vector'>[]>
  /** Documents ordered by id. */
  list(options: { offset: number; limit: number }): Promise<Page<StoredDocument>>
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>
  /** Stored vectors for these chunk text hashes (any document): the persistent embedding cache. */
  vectorsByHash(textHashes: string[]): Promise<Map<string, Float32Array>>
  /** Nearest chunks by cosine similarity; score is the similarity (1 = same direction). */
  searchVector(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]>
  /** Chunks matching the words of `query` by full-text search; score is the engine's relevance. */
  searchKeyword(query: string, options: SearchOptions): Promise<SearchHit[]>
  /** One cheap round trip proving the open store answers (readiness); rejects when it does not. */
  ping(): Promise<void>
  /** Index maintenance (compaction, indexing the unindexed tail). Safe to call any time. */
  optimize(): Promise<void>
  /**
   * Resolves once what was written is indexed for keyword search (the end of a bulk load, so that the
   * first search after it does not pay for the index): only the full-text index, none of optimize()'s
   * compaction or vector index. Cheap when there is nothing to index.
   */
  indexForSearch(): Promise<void>
  close(): Promise<void>
}

export class EmbeddingMismatchError extends Error {
  override name = 'EmbeddingMismatchError'
  constructor(stored: EmbeddingSpace, configured: EmbeddingSpace) {
    super(
      `The document store was built with embeddings ${stored.model} (${stored.dimensions} dimensions) but the ` +
        `server is configured for ${configured.model} (${configured.dimensions} dimensions). Use the original ` +
        'embedding settings, or point RAG_DATA_DIR / DATABASE_URL at a new store and re-ingest.',
    )
  }
}
