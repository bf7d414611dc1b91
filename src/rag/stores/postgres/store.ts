import { escapeIdentifier, Pool } from 'pg'
import { fromSql } from 'pgvector'
import type { EmbeddingSpace } from '../../../providers/embeddings.js'
import {
  type DocumentStore,
  EmbeddingMismatchError,
  type Page,
  type SearchHit,
  type SearchOptions,
  type StoredChunk,
  type StoredDocument,
} from '../../types.js'
import { inTransaction, migrate } from './migrations.js'
import {
  chunksStatement,
  deleteChunksStatement,
  deleteDocumentStatement,
  documentStatement,
  documentsStatement,
  insertChunksStatements,
  keywordSearchStatement,
  lockDocumentsStatement,
  pageStatement,
  upsertDocumentsStatement,
  vacuumStatement,
  vectorSearchStatement,
  vectorsByHashStatement,
} from './statements.js'

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  connectionString: string
  /** The schema holding the tables (created when missing); 'public' by default. */
  schema?: string
  /** A pool to use instead of one built from `connectionString`; the caller closes it. */
  pool?: Pool
  /** Most connections of the pool built from `connectionString` (pg's default: 10). */
  maxConnections?: number
}

/**
 * The document store on PostgreSQL with pgvector (0.8 or later, for iterative index scans): documents and
 * chunks in two tables of one schema, chunks found by an HNSW cosine index and a GIN full-text index. The
 * schema is migrated at open(); the SQL is in ./statements.ts.
 */
export class PostgresStore implements DocumentStore {
  readonly #pool: Pool
  readonly #ownsPool: boolean
  readonly #schemaName: string
  #space: EmbeddingSpace | undefined
  #ended = false

  constructor(options: PostgresStoreOptions) {
    this.#ownsPool = options.pool === undefined
    this.#pool =
      options.pool ?? new Pool({ connectionString: options.connectionString, max: options.maxConnections })
    this.#schemaName = options.schema ?? 'public'
  }

  async open(space: EmbeddingSpace): Promise<void> {
    try {
      if (!Number.isInteger(space.dimensions) || space.dimensions < 0) {
        throw new RangeError(`Embedding dimensions must be a whole number, not ${space.dimensions}`)
      }
      const stored = await migrate(this.#pool, escapeIdentifier(this.#schemaName), space)
      if (stored.model !== space.model || stored.dimensions !== space.dimensions) {
        throw new EmbeddingMismatchError(stored, space)
      }
      this.#space = space
    } catch (error) {
      // A store that failed to open is not closed by its caller: release its connections now.
      await this.close()
      throw error
    }
  }

  async upsert(document: StoredDocument, chunks: StoredChunk[]): Promise<void> {
    await this.upsertMany([{ document, chunks }])
  }

  /**
   * All documents in one transaction: readers see the batch before or after, never half of it. Writers of
   * the same documents queue on their advisory locks (see lockDocumentsStatement).
   */
  async upsertMany(entries: { document: StoredDocument; chunks: StoredChunk[] }[]): Promise<void> {
    const { dimensions } = this.#opened()
    const misfit = entries
      .flatMap((entry) => entry.chunks)
      .find((chunk) => chunk.vector && chunk.vector.length !== dimensions)
    if (misfit) {
      throw new RangeError(
        `Chunk ${misfit.id} has a vector of ${misfit.vector?.length} dimensions; the store holds ${dimensions}`,
      )
    }
    if (entries.length === 0) return
    // Three statements for the whole batch (more only past INSERT_BATCH chunks), not three per document.
    await inTransaction(this.#pool, async (client) => {
      await client.query(
        lockDocumentsStatement(
          this.#schemaName,
          entries.map((entry) => entry.document.id),
        ),
      )
      const documents = entries.map((entry) => entry.document)
      await client.query(upsertDocumentsStatement(this.#schemaName, documents))
      await client.query(
        deleteChunksStatement(
          this.#schemaName,
          documents.map((document) => document.id),
        ),
      )
      const chunks = entries.flatMap((entry) => entry.chunks)
      for (const statement of insertChunksStatements(this.#schemaName, chunks, dimensions)) {
        await client.query(statement)
      }
    })
  }

  async get(id: string): Promise<StoredDocument | undefined> {
    this.#opened()
    const { rows } = await this.#pool.query<StoredDocument>(documentStatement(this.#schemaName, id))
    return rows[0]
  }

  async getMany(ids: string[]): Promise<StoredDocument[]> {
    this.#opened()
    if (ids.length === 0) return []
    return (await this.#pool.query<StoredDocument>(documentsStatement(this.#schemaName, ids))).rows
  }

  async chunks(id: string): Promise<Omit<StoredChunk, 'vector'>[]> {
    this.#opened()
    const { rows } = await this.#pool.query<Omit<StoredChunk, 'vector'>>(
      chunksStatement(this.#schemaName, id),
    )
    return rows
  }

  async list(options: { offset: number; limit: number }): Promise<Page<StoredDocument>> {
    this.#opened()
    const { rows } = await this.#pool.query<Page<StoredDocument>>(pageStatement(this.#schemaName, options))
    return rows[0] ?? { items: [], total: 0 }
  }

  async delete(id: string): Promise<boolean> {
    this.#opened()
    const result = await this.#pool.query(deleteDocumentStatement(this.#schemaName, id))
    return (result.rowCount ?? 0) > 0
  }

  async vectorsByHash(textHashes: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>()
    if (this.#opened().dimensions === 0 || textHashes.length === 0) return found
    const { rows } = await this.#pool.query<{ text_hash: string; embedding: string }>(
      vectorsByHashStatement(this.#schemaName, textHashes),
    )
    for (const row of rows) found.set(row.text_hash, Float32Array.from(fromSql(row.embedding) as number[]))
    return found
  }

  async searchVector(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    const { dimensions } = this.#opened()
    if (dimensions === 0) return []
    const statement = vectorSearchStatement(this.#schemaName, dimensions, vector, options)
    if (!options.filter || Object.keys(options.filter).length === 0) {
      return (await this.#pool.query<SearchHit>(statement)).rows
    }
    // HNSW yields ef_search (40) candidates before the filter applies; a selective filter could then
    // leave fewer than topK. pgvector >= 0.8 keeps scanning, in distance order, until topK pass.
    return inTransaction(this.#pool, async (client) => {
      await client.query("SET LOCAL hnsw.iterative_scan = 'strict_order'")
      return (await client.query<SearchHit>(statement)).rows
    })
  }

  async searchKeyword(query: string, options: SearchOptions): Promise<SearchHit[]> {
    this.#opened()
    if (query.trim() === '') return []
    const statement = keywordSearchStatement(this.#schemaName, query, options)
    return (await this.#pool.query<SearchHit>(statement)).rows
  }

  /** One round trip on the pool. */
  async ping(): Promise<void> {
    this.#opened()
    await this.#pool.query('SELECT 1')
  }

  /** Nothing to do: each write's transaction updates the full-text (GIN) index with its rows. */
  async indexForSearch(): Promise<void> {
    this.#opened()
  }

  /** Reclaims the rows that replaced and deleted documents left behind, in the tables and the indexes. */
  async optimize(): Promise<void> {
    this.#opened()
    await this.#pool.query(vacuumStatement(this.#schemaName))
  }

  async close(): Promise<void> {
    this.#space = undefined
    if (!this.#ownsPool || this.#ended) return
    this.#ended = true
    await this.#pool.end()
  }

  #opened(): EmbeddingSpace {
    if (!this.#space) throw new Error('PostgresStore used before open() or after close()')
    return this.#space
  }
}
