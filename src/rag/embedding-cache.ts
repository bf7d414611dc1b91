import { createHash } from 'node:crypto'
import type { Embedder, EmbeddingSpace } from '../providers/embeddings.js'
import type { CallOptions } from '../providers/provider.js'
import type { DocumentStore } from './types.js'

export interface EmbeddingReport {
  vectors: Float32Array[]
  /** Texts answered from memory or from vectors already in the store. */
  fromCache: number
  /** Texts sent to the embedding model. */
  embedded: number
  /** Hashes of the texts sent to the model (each once). */
  embeddedHashes: string[]
}

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex')

/** Inputs per upstream call: far under OpenAI's 2,048 inputs and 300k tokens with our chunk sizes. */
const BATCH_SIZE = 128

/**
 * Embeds through a cache keyed by model and text hash, item by item: memory first (LRU), then the
 * vectors already in the store, then the model for what is left, in batches. Identical texts, within a
 * call or across concurrent calls, share one upstream request.
 */
export class EmbeddingCache {
  readonly space: EmbeddingSpace
  /** The model's cosine similarity for unrelated texts: vector relevance counts from there (./relevance.ts). */
  readonly unrelatedCosine: number
  readonly #embedder: Embedder
  readonly #store: Pick<DocumentStore, 'vectorsByHash'> | undefined
  readonly #capacity: number
  readonly #memory = new Map<string, Float32Array>()
  readonly #inFlight = new Map<string, Promise<Float32Array>>()

  constructor(
    embedder: Embedder,
    options: { store?: Pick<DocumentStore, 'vectorsByHash'>; capacity: number; unrelatedCosine?: number },
  ) {
    this.#embedder = embedder
    this.space = embedder.space
    this.unrelatedCosine = options.unrelatedCosine ?? 0
    this.#store = options.store
    this.#capacity = options.capacity
  }

  async embed(texts: string[], options: CallOptions): Promise<EmbeddingReport> {
    const hashes = texts.map(textHash)
    const found = new Map<string, Float32Array | Promise<Float32Array>>()
    for (const hash of new Set(hashes)) {
      const cached = this.#remembered(hash) ?? this.#inFlight.get(this.#key(hash))
      if (cached) found.set(hash, cached)
    }
    const unknown = [...new Set(hashes)].filter((hash) => !found.has(hash))
    const stored = unknown.length > 0 && this.#store ? await this.#store.vectorsByHash(unknown) : new Map()
    for (const [hash, vector] of stored) {
      this.#remember(hash, vector)
      found.set(hash, vector)
    }
    const missing = unknown.filter((hash) => !found.has(hash))
    const textOf = new Map(hashes.map((hash, index) => [hash, texts[index] as string]))
    for (let start = 0; start < missing.length; start += BATCH_SIZE) {
      const batch = missing.slice(start, start + BATCH_SIZE)
      const request = this.#embedder.embed(
        batch.map((hash) => textOf.get(hash) as string),
        options,
      )
      for (const [index, hash] of batch.entries()) {
        const key = this.#key(hash)
        const vector = request.then((vectors) => vectors[index] as Float32Array)
        // Settled in finally: a failed call is not cached, the next caller tries again.
        vector
          .then((value) => this.#remember(hash, value))
          .catch(() => {})
          .finally(() => this.#inFlight.delete(key))
        this.#inFlight.set(key, vector)
        found.set(hash, vector)
      }
    }
    const vectors = await Promise.all(
      hashes.map((hash) => found.get(hash) as Float32Array | Promise<Float32Array>),
    )
    // `missing` holds each text sent upstream once; everything else came from a cache or a shared call.
    return {
      vectors,
      fromCache: texts.length - missing.length,
      embedded: missing.length,
      embeddedHashes: missing,
    }
  }

  #key(hash: string) {
    return `${this.space.model}:${this.space.dimensions}:${hash}`
  }

  #remembered(hash: string): Float32Array | undefined {
    const key = this.#key(hash)
    const vector = this.#memory.get(key)
    if (vector) {
      // Refresh its place: Map keeps insertion order, so the first key is the least recently used.
      this.#memory.delete(key)
      this.#memory.set(key, vector)
    }
    return vector
  }

  #remember(hash: string, vector: Float32Array) {
    if (this.#capacity === 0) return
    const key = this.#key(hash)
    this.#memory.delete(key)
    this.#memory.set(key, vector)
    if (this.#memory.size > this.#capacity) this.#memory.delete(this.#memory.keys().next().value as string)
  }
}
