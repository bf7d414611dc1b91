import { DocumentNotFoundError, DocumentStoreUnavailableError } from '../errors.js'
import type { EmbeddingSpace } from '../providers/embeddings.js'
import type { CallOptions, ChatMessage } from '../providers/provider.js'
import type { ChunkingOptions } from './chunker.js'
import type { EmbeddingCache } from './embedding-cache.js'
import { type DocumentInput, Ingestor, type IngestResult } from './ingest.js'
import { buildRagMessages, type Source, sourcesOf } from './prompt.js'
import { type RetrieveOptions, retrieve } from './retrieve.js'
import { type DocumentStore, EmbeddingMismatchError, type Page, type StoredDocument } from './types.js'

export interface PreparedAnswer {
  /** The cited passages, numbered as in the prompt. */
  sources: Source[]
  /** The messages to send; empty when nothing relevant was found. */
  messages: ChatMessage[]
}

export interface DocumentsOptions {
  store: DocumentStore
  /** Undefined: keyword-only retrieval. */
  embeddings: EmbeddingCache | undefined
  space: EmbeddingSpace
  chunking: ChunkingOptions
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
    this.#ingestor = new Ingestor(options.store, options.embeddings, options.chunking)
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

  async ingest(documents: DocumentInput[], call: CallOptions): Promise<IngestResult[]> {
    await this.ready()
    return this.#ingestor.ingestMany(documents, call)
  }

  async list(offset: number, limit: number): Promise<Page<StoredDocument>> {
    await this.ready()
    return this.#options.store.list({ offset, limit })
  }

  async get(id: string) {
    await this.ready()
    const document = await this.#options.store.get(id)
    if (!document) throw new DocumentNotFoundError(id)
    return { document, chunks: await this.#options.store.chunks(id) }
  }

  async delete(id: string): Promise<void> {
    await this.ready()
    if (!(await this.#options.store.delete(id))) throw new DocumentNotFoundError(id)
  }

  /** Retrieves the passages for a question and the prompt that cites them. */
  async prepare(question: string, options: RetrieveOptions, call: CallOptions): Promise<PreparedAnswer> {
    await this.ready()
    const chunks = await retrieve(this.#options.store, this.#options.embeddings, question, options, call)
    if (chunks.length === 0) return { sources: [], messages: [] }
    return { sources: sourcesOf(chunks), messages: buildRagMessages(question, chunks) }
  }

  async close(): Promise<void> {
    if (this.#opened)
      await this.#opened.then(
        () => this.#options.store.close(),
        () => {},
      )
  }
}
