import { escapeIdentifier, Pool, type PoolClient, type QueryConfig } from 'pg'
import { fromSql, toSql } from 'pgvector'
import type { EmbeddingSpace } from '../../providers/embeddings.js'
import {
  type DocumentStore,
  EmbeddingMismatchError,
  type Metadata,
  type Page,
  type SearchHit,
  type SearchOptions,
  type StoredChunk,
  type StoredDocument,
} from '../types.js'
import { inTransaction, migrate, TEXT_SEARCH_CONFIG, vectorOrdering } from './postgres-migrations.js'

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

// Columns aliased to the model's field names (and hits built as JSON by the server), so rows need no mapping.
// Timestamps are formatted by the server: the string returned is the one stored whatever the session
// time zone.
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
const DOCUMENT_FIELDS = `id, title, source, metadata, text_hash AS "textHash", chunk_count AS "chunkCount",
  ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt"`
const CHUNK_FIELDS =
  'id, document_id AS "documentId", idx AS "index", text, text_hash AS "textHash", token_count AS "tokenCount"'
const HIT_FIELDS = `json_build_object('id', c.id, 'documentId', c.document_id, 'index', c.idx, 'text', c.text,
    'textHash', c.text_hash, 'tokenCount', c.token_count) AS chunk,
  json_build_object('id', d.id, 'title', d.title, 'source', d.source, 'metadata', d.metadata) AS document`
/** Chunks per INSERT: keeps one statement's parameters to a few MB with wide vectors. */
const INSERT_BATCH = 500

/** Appends the metadata filter (jsonb containment: every key equal, types included) as parameter `$n`. */
function filterClause(values: unknown[], filter: Metadata | undefined): string {
  if (!filter || Object.keys(filter).length === 0) return ''
  values.push(JSON.stringify(filter))
  return ` AND d.metadata @> $${values.length}::jsonb`
}

/**
 * The vector search statement, ordered by the HNSW index's own expression so the planner can use it.
 * Exported for the test that EXPLAINs it.
 */
export function vectorSearchStatement(
  schemaName: string,
  dimensions: number,
  vector: Float32Array,
  options: SearchOptions,
): QueryConfig {
  const { column, parameter } = vectorOrdering(dimensions)
  const schema = escapeIdentifier(schemaName)
  const values: unknown[] = [toSql(Array.from(vector)), options.topK]
  const text = `SELECT ${HIT_FIELDS}, 1 - (c.embedding <=> $1::vector) AS score
    FROM ${schema}.rag_chunks c JOIN ${schema}.rag_documents d ON d.id = c.document_id
    WHERE c.embedding IS NOT NULL${filterClause(values, options.filter)}
    ORDER BY ${column} <=> ${parameter} LIMIT $2`
  return { text, values }
}

/**
 * The document store on PostgreSQL with pgvector (0.8 or later, for iterative index scans): documents and
 * chunks in two tables of one schema, chunks found by an HNSW cosine index and a GIN full-text index. The
 * schema is migrated at open().
 */
export class PostgresStore implements DocumentStore {
  readonly #pool: Pool
  readonly #ownsPool: boolean
  readonly #schemaName: string
  /** Quoted, ready for SQL. */
  readonly #schema: string
  #space: EmbeddingSpace | undefined
  #ended = false

  constructor(options: PostgresStoreOptions) {
    this.#ownsPool = options.pool === undefined
    this.#pool =
      options.pool ?? new Pool({ connectionString: options.connectionString, max: options.maxConnections })
    this.#schemaName = options.schema ?? 'public'
    this.#schema = escapeIdentifier(this.#schemaName)
  }

  async open(space: EmbeddingSpace): Promise<void> {
    try {
      if (!Number.isInteger(space.dimensions) || space.dimensions < 0) {
        throw new RangeError(`Embedding dimensions must be a whole number, not ${space.dimensions}`)
      }
      const stored = await migrate(this.#pool, this.#schema, space)
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

  /** All documents in one transaction: readers see the batch before or after, never half of it. */
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
    await inTransaction(this.#pool, async (client) => {
      for (const { document, chunks } of entries) await this.#write(client, document, chunks, dimensions)
    })
  }

  async #write(client: PoolClient, document: StoredDocument, chunks: StoredChunk[], dimensions: number) {
    const table = `${this.#schema}.rag_chunks`
    await client.query(
      `INSERT INTO ${this.#schema}.rag_documents
          (id, title, source, metadata, text_hash, chunk_count, created_at, updated_at)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
        ON CONFLICT (id) DO UPDATE SET title = excluded.title, source = excluded.source,
          metadata = excluded.metadata, text_hash = excluded.text_hash, chunk_count = excluded.chunk_count,
          created_at = excluded.created_at, updated_at = excluded.updated_at`,
      [
        document.id,
        document.title,
        document.source,
        JSON.stringify(document.metadata),
        document.textHash,
        document.chunkCount,
        document.createdAt,
        document.updatedAt,
      ],
    )
    await client.query(`DELETE FROM ${table} WHERE document_id = $1`, [document.id])
    for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
      const batch = chunks.slice(start, start + INSERT_BATCH)
      const values: unknown[] = [
        document.id,
        batch.map((chunk) => chunk.id),
        batch.map((chunk) => chunk.index),
        batch.map((chunk) => chunk.text),
        batch.map((chunk) => chunk.textHash),
        batch.map((chunk) => chunk.tokenCount),
      ]
      // Chunks without a vector, and every chunk of a keyword-only store, get no embedding.
      const vectors = dimensions > 0
      if (vectors) values.push(batch.map((chunk) => (chunk.vector ? toSql(Array.from(chunk.vector)) : null)))
      await client.query(
        `INSERT INTO ${table} (id, document_id, idx, text, text_hash, token_count${vectors ? ', embedding' : ''})
          SELECT c.id, $1, c.idx, c.text, c.text_hash, c.token_count${vectors ? ', c.embedding::vector' : ''}
          FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::int[]${vectors ? ', $7::text[]' : ''})
            AS c(id, idx, text, text_hash, token_count${vectors ? ', embedding' : ''})`,
        values,
      )
    }
  }

  async get(id: string): Promise<StoredDocument | undefined> {
    this.#opened()
    const { rows } = await this.#pool.query<StoredDocument>(
      `SELECT ${DOCUMENT_FIELDS} FROM ${this.#schema}.rag_documents WHERE id = $1`,
      [id],
    )
    return rows[0]
  }

  async chunks(id: string): Promise<Omit<StoredChunk, 'vector'>[]> {
    this.#opened()
    const { rows } = await this.#pool.query<Omit<StoredChunk, 'vector'>>(
      `SELECT ${CHUNK_FIELDS} FROM ${this.#schema}.rag_chunks WHERE document_id = $1 ORDER BY idx`,
      [id],
    )
    return rows
  }

  async list(options: { offset: number; limit: number }): Promise<Page<StoredDocument>> {
    this.#opened()
    const documents = `${this.#schema}.rag_documents`
    // One statement: the total and the page come from one snapshot.
    const { rows } = await this.#pool.query<Page<StoredDocument>>(
      `SELECT (SELECT count(*)::int FROM ${documents}) AS total, coalesce((
        SELECT json_agg(p ORDER BY p.id) FROM (
          SELECT ${DOCUMENT_FIELDS} FROM ${documents} ORDER BY id LIMIT $1 OFFSET $2
        ) p
      ), '[]') AS items`,
      [options.limit, options.offset],
    )
    return rows[0] ?? { items: [], total: 0 }
  }

  async delete(id: string): Promise<boolean> {
    this.#opened()
    const result = await this.#pool.query(`DELETE FROM ${this.#schema}.rag_documents WHERE id = $1`, [id])
    return (result.rowCount ?? 0) > 0
  }

  async vectorsByHash(textHashes: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>()
    if (this.#opened().dimensions === 0 || textHashes.length === 0) return found
    const { rows } = await this.#pool.query<{ text_hash: string; embedding: string }>(
      `SELECT DISTINCT ON (text_hash) text_hash, embedding::text AS embedding FROM ${this.#schema}.rag_chunks
      WHERE text_hash = ANY($1::text[]) AND embedding IS NOT NULL`,
      [textHashes],
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
    const values: unknown[] = [query, options.topK]
    // plainto_tsquery takes any text (quotes, stray operators) without a syntax error, but ANDs its
    // words; a question rarely has all its words in one passage, so OR them (as LanceDB's BM25 does) and
    // let the rank favour passages matching more of them. The lexemes are already normalised, so the
    // 'simple' configuration only re-reads them.
    const { rows } = await this.#pool.query<SearchHit>(
      `SELECT ${HIT_FIELDS}, ts_rank_cd(c.tsv, q) AS score
      FROM ${this.#schema}.rag_chunks c JOIN ${this.#schema}.rag_documents d ON d.id = c.document_id,
        to_tsquery('simple', replace(plainto_tsquery('${TEXT_SEARCH_CONFIG}', $1)::text, ' & ', ' | ')) q
      WHERE c.tsv @@ q${filterClause(values, options.filter)}
      ORDER BY score DESC, c.id LIMIT $2`,
      values,
    )
    return rows
  }

  /** Reclaims the rows that replaced and deleted documents left behind, in the tables and the indexes. */
  async optimize(): Promise<void> {
    this.#opened()
    await this.#pool.query(`VACUUM (ANALYZE) ${this.#schema}.rag_documents, ${this.#schema}.rag_chunks`)
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
