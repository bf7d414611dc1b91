import { DocumentNotFoundError, DocumentStoreUnavailableError } from '../errors.js'
import type { EmbeddingSpace } from '../providers/embeddings.js'
import type { CallOptions, ChatMessage } from '../providers/provider.js'
import type { ChunkingOptions } from './chunker.js'
import type { EmbeddingCache } from './embedding-cache.js'
import { type Chunker, type DocumentInput, Ingestor, type IngestResult } from './ingest.js'
import { buildRagMessages, type Source, sourcesOf } from './prompt.js'
import { type RetrievedChunk, type RetrieveOptions, retrieve } from './retrieve.js'
import { type DocumentStore, EmbeddingMismatchError, type Page, type StoredDocument } from './types.js'

export interface PreparedAnswer {
  /** The cited passages, numbered as in the prompt. */
  sources: Source[]
  /** The messages to send; empty when nothing relevant was found. */
  messages: ChatMessage[]
}

/** The operations the document metrics count, one per public method of Documents. */
export type DocumentOperation = 'ingest' | 'list' | 'get' | 'delete' | 'retrieve'

/** Where Documents reports each operation (the metrics plugin; tests): rag stays free of any metrics library. */
export interface DocumentsMeter {
  /** One operation finished: `ok` (a document not found included: the store answered), or `error`. */
  observe(operation: DocumentOperation, outcome: 'ok' | 'error', seconds: number): void
}

export interface DocumentsOptions {
  store: DocumentStore
  /** Undefined: keyword-only retrieval. */
  embeddings: EmbeddingCache | undefined
  space: EmbeddingSpace
  chunking: ChunkingOptions
  /** Receives each operation's outcome and duration; undefined: nothing is measured. */
  meter?: DocumentsMeter
  /** Relevance under which a passage is not used when the caller names no `minScore` (README "Scores"). */
  minScore?: number
  /** Where chunkAhead() chunks; undefined: the Ingestor's own worker threads, started on first use. */
  chunker?: Chunker | undefined
}

/**
 * The document library: documents in (chunked, embedded, stored), passages out (retrieved and set in a
 * prompt that cites them). The store opens on first use, or at boot through `ready()`.
 */
export class Documents {
  readonly #options: DocumentsOptions
  readonly #ingestor: Ingestor
  #opened: Promise<void> | undefined

  constructor(options: DocumentsOptions) {
    this.#options = options
    this.#ingestor = new Ingestor(options.store, options.embeddings, options.chunking, options.chunker)
  }

  /** Opens the store once; rejects with a 503-mapped error naming the problem. */
  ready(): Promise<void> {
    this.#opened ??= this.#options.store.open(this.#options.space).catch((error: unknown) => {
      this.#opened = undefined
      if (error instanceof EmbeddingMismatchError)
        throw new DocumentStoreUnavailableError(error.message, { cause: error })
      throw new DocumentStoreUnavailableError('The document store is unavailable', {
        cause: error,
        logDetail: `opening the document store failed: ${String(error)}`,
      })
    })
    return this.#opened
  }

  ingest(documents: DocumentInput[], call: CallOptions): Promise<IngestResult[]> {
    return this.#measured('ingest', async () => {
      await this.ready()
      return this.#ingestor.ingestMany(documents, call)
    })
  }

  /** Chunks documents before ingest() takes them (Ingestor.chunkAhead: bulk loads); never rejects. */
  async chunkAhead(documents: DocumentInput[]): Promise<void> {
    await this.ready().then(
      () => this.#ingestor.chunkAhead(documents),
      () => {},
    )
  }

  /** After a bulk load: resolves once the store has indexed what was written for keyword search. */
  async indexForSearch(): Promise<void> {
    await this.ready()
    await this.#options.store.indexForSearch()
  }

  list(offset: number, limit: number): Promise<Page<StoredDocument>> {
    return this.#measured('list', async () => {
      await this.ready()
      return this.#options.store.list({ offset, limit })
    })
  }

  get(id: string) {
    return this.#measured('get', async () => {
      await this.ready()
      const document = await this.#options.store.get(id)
      if (!document) throw new DocumentNotFoundError(id)
      return { document, chunks: await this.#options.store.chunks(id) }
    })
  }

  delete(id: string): Promise<void> {
    return this.#measured('delete', async () => {
      await this.ready()
      if (!(await this.#options.store.delete(id))) throw new DocumentNotFoundError(id)
    })
  }

  /** The passages most relevant to a question, best first (retrieval only: no model is asked). */
  search(question: string, options: RetrieveOptions, call: CallOptions): Promise<RetrievedChunk[]> {
    return this.#measured('retrieve', async () => {
      await this.ready()
      const minScore = options.minScore ?? this.#options.minScore
      return retrieve(this.#options.store, this.#options.embeddings, question, { ...options, minScore }, call)
    })
  }

  /** Retrieves the passages for a question and the prompt that cites them. */
  async prepare(question: string, options: RetrieveOptions, call: CallOptions): Promise<PreparedAnswer> {
    const chunks = await this.search(question, options, call)
    if (chunks.length === 0) return { sources: [], messages: [] }
    return { sources: sourcesOf(chunks), messages: buildRagMessages(question, chunks) }
  }

  /** Opens the store if needed and makes one cheap call on it (readiness); rejects when it cannot. */
  async ping(): Promise<void> {
    await this.ready()
    await this.#options.store.ping()
  }

  /** Runs one operation, reporting its outcome and duration to the meter when there is one. */
  #measured<T>(operation: DocumentOperation, run: () => Promise<T>): Promise<T> {
    const meter = this.#options.meter
    if (!meter) return run()
    const started = performance.now()
    const seconds = () => (performance.now() - started) / 1000
    return run().then(
      (value) => {
        meter.observe(operation, 'ok', seconds())
        return value
      },
      (error: unknown) => {
        meter.observe(operation, error instanceof DocumentNotFoundError ? 'ok' : 'error', seconds())
        throw error
      },
    )
  }

  async close(): Promise<void> {
    await this.#ingestor.close()
    if (this.#opened)
      await this.#opened.then(
        () => this.#options.store.close(),
        () => {},
      )
  }
}
