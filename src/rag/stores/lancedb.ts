// LanceDB's full-text index build hung on this 2-core machine until it was given more threads; the
// native pool reads this once, so it must be set before the module loads (an operator's value wins).
process.env.LANCE_CPU_THREADS ??= '4'

import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import * as lancedb from '@lancedb/lancedb'
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

// LanceDB is CommonJS and checks Arrow types with instanceof: an ESM `import 'apache-arrow'` loads a
// second copy whose schemas it does not recognise (inserts then silently wrote 0 rows). Load the same
// CommonJS copy it uses.
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow')

export interface LanceStoreOptions {
  /** The folder holding the tables. */
  directory: string
  /** Rows from which vector search uses an ANN index instead of a flat scan. */
  vectorIndexThreshold?: number
  /** Quiet time after a write before index maintenance runs; 0 disables scheduling. */
  maintenanceDelayMs?: number
}

interface ChunkRow {
  id: string
  document_id: string
  idx: number
  text: string
  text_hash: string
  token_count: number
  title: string
  source: string
  metadata: string
  /** `|<hex key>=<type><hex value>|...`: exact metadata matching with LIKE, no escaping to get wrong. */
  metadata_terms: string
  vector?: number[] | Float32Array
}

const STORE_FILE = 'store.json'
const CHUNK_COLUMNS = [
  'id',
  'document_id',
  'idx',
  'text',
  'text_hash',
  'token_count',
  'title',
  'source',
  'metadata',
]

/** The embedded default store: two LanceDB tables in a folder, nothing to install or run. */
export class LanceStore implements DocumentStore {
  readonly #options: Required<LanceStoreOptions>
  #connection: lancedb.Connection | undefined
  #documents: lancedb.Table | undefined
  #chunks: lancedb.Table | undefined
  #space: EmbeddingSpace = { model: 'none', dimensions: 0 }
  #maintenanceTimer: NodeJS.Timeout | undefined
  #maintenance: Promise<void> = Promise.resolve()

  constructor(options: LanceStoreOptions) {
    this.#options = { vectorIndexThreshold: 10_000, maintenanceDelayMs: 5_000, ...options }
  }

  async open(space: EmbeddingSpace): Promise<void> {
    const { directory } = this.#options
    await mkdir(directory, { recursive: true })
    const recorded = await readStoreFile(join(directory, STORE_FILE))
    if (recorded && (recorded.model !== space.model || recorded.dimensions !== space.dimensions)) {
      throw new EmbeddingMismatchError(recorded, space)
    }
    this.#space = space
    this.#connection = await lancedb.connect(directory)
    const names = await this.#connection.tableNames()
    this.#documents = names.includes('documents')
      ? await this.#connection.openTable('documents')
      : await this.#connection.createEmptyTable('documents', documentSchema(), { existOk: true })
    this.#chunks = names.includes('chunks')
      ? await this.#connection.openTable('chunks')
      : await this.#connection.createEmptyTable('chunks', chunkSchema(space.dimensions), { existOk: true })
    if (!recorded)
      await writeFile(join(directory, STORE_FILE), `${JSON.stringify({ ...space, version: 1 }, null, 2)}\n`)
  }

  async upsert(document: StoredDocument, chunks: StoredChunk[]): Promise<void> {
    await this.upsertMany([{ document, chunks }])
  }

  /**
   * One merge for all the chunks, one for the documents: each LanceDB commit costs milliseconds whatever
   * its size, so ingestion batches documents. Merging on the chunk id, readers see each chunk old or new,
   * never missing. (A merge that also deleted "not matched by source" rows scanned the whole table:
   * 2.2 s per document at 100k chunks.) Only documents that shrank leave a tail to delete.
   */
  async upsertMany(entries: { document: StoredDocument; chunks: StoredChunk[] }[]): Promise<void> {
    if (entries.length === 0) return
    const { documents, chunks: chunkTable } = this.#tables()
    const ids = entries.map((entry) => sqlString(entry.document.id))
    const previous = await documents
      .query()
      .where(`id IN (${ids.join(', ')})`)
      .select(['id', 'chunk_count'])
      .toArray()
    const previousCount = new Map(previous.map((row) => [String(row.id), Number(row.chunk_count)]))
    const rows = entries.flatMap(({ document, chunks }) =>
      chunks.map((chunk) => this.#chunkRow(document, chunk)),
    )
    if (rows.length > 0) {
      await chunkTable
        .mergeInsert('id')
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute(rows as unknown as Record<string, unknown>[])
    }
    const tails = entries
      .filter(({ document, chunks }) => (previousCount.get(document.id) ?? 0) > chunks.length)
      .map(({ document, chunks }) => `(document_id = ${sqlString(document.id)} AND idx >= ${chunks.length})`)
    if (tails.length > 0) await chunkTable.delete(tails.join(' OR '))
    await documents
      .mergeInsert('id')
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute(entries.map((entry) => documentRow(entry.document)))
    this.#scheduleMaintenance()
  }

  async get(id: string): Promise<StoredDocument | undefined> {
    const [row] = await this.#tables()
      .documents.query()
      .where(`id = ${sqlString(id)}`)
      .limit(1)
      .toArray()
    return row ? fromDocumentRow(row) : undefined
  }

  async chunks(id: string): Promise<Omit<StoredChunk, 'vector'>[]> {
    const rows = await this.#tables()
      .chunks.query()
      .where(`document_id = ${sqlString(id)}`)
      .select(CHUNK_COLUMNS)
      .toArray()
    return rows.map(fromChunkRow).sort((a, b) => a.index - b.index)
  }

  async list({ offset, limit }: { offset: number; limit: number }): Promise<Page<StoredDocument>> {
    const { documents } = this.#tables()
    // LanceDB queries have no ORDER BY: sort the ids here (the documents table is small), fetch one page.
    const ids = (await documents.query().select(['id']).toArray()).map((row) => String(row.id)).sort()
    const pageIds = ids.slice(offset, offset + limit)
    if (pageIds.length === 0) return { items: [], total: ids.length }
    const rows = await documents
      .query()
      .where(`id IN (${pageIds.map(sqlString).join(', ')})`)
      .toArray()
    const items = rows.map(fromDocumentRow).sort((a, b) => (a.id < b.id ? -1 : 1))
    return { items, total: ids.length }
  }

  async delete(id: string): Promise<boolean> {
    const { documents, chunks } = this.#tables()
    const existed = (await documents.countRows(`id = ${sqlString(id)}`)) > 0
    await chunks.delete(`document_id = ${sqlString(id)}`)
    await documents.delete(`id = ${sqlString(id)}`)
    if (existed) this.#scheduleMaintenance()
    return existed
  }

  async vectorsByHash(textHashes: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>()
    if (this.#space.dimensions === 0 || textHashes.length === 0) return found
    const rows = await this.#tables()
      .chunks.query()
      .where(`text_hash IN (${textHashes.map(sqlString).join(', ')})`)
      .select(['text_hash', 'vector'])
      .toArray()
    for (const row of rows) {
      if (row.vector) found.set(String(row.text_hash), Float32Array.from(row.vector.toArray()))
    }
    return found
  }

  async searchVector(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    if (this.#space.dimensions === 0) return []
    let query = this.#tables()
      .chunks.vectorSearch(vector)
      .distanceType('cosine')
      // Naming the score column keeps LanceDB from warning on every query that it was left out.
      .select([...CHUNK_COLUMNS, '_distance'])
      .limit(options.topK)
    const filter = filterClause(options.filter)
    if (filter) query = query.where(filter)
    // Cosine distance is 1 - similarity; report the similarity.
    return (await query.toArray()).map((row) => toHit(row, 1 - Number(row._distance)))
  }

  async searchKeyword(text: string, options: SearchOptions): Promise<SearchHit[]> {
    if (text.trim() === '') return []
    await this.#ensureFullTextIndex()
    let query = this.#tables()
      .chunks.query()
      .fullTextSearch(text, { columns: ['text'] })
      .select([...CHUNK_COLUMNS, '_score'])
      .limit(options.topK)
    const filter = filterClause(options.filter)
    if (filter) query = query.where(filter)
    return (await query.toArray()).map((row) => toHit(row, Number(row._score)))
  }

  /** Compacts, builds the vector index once there are enough rows, and indexes the unindexed tail. */
  async optimize(): Promise<void> {
    this.#maintenance = this.#maintenance.then(() => this.#runMaintenance())
    return this.#maintenance
  }

  async close(): Promise<void> {
    clearTimeout(this.#maintenanceTimer)
    await this.#maintenance.catch(() => {})
    this.#documents?.close()
    this.#chunks?.close()
    this.#connection?.close()
    this.#documents = this.#chunks = this.#connection = undefined
  }

  async #runMaintenance() {
    const { chunks, documents } = this.#tables()
    await this.#ensureFullTextIndex()
    // Scalar indexes turn the lookups by id, document and text hash (merges, deletes, the embedding
    // cache) from scans into index reads.
    await ensureScalarIndexes(chunks, ['id', 'document_id', 'text_hash'])
    await ensureScalarIndexes(documents, ['id'])
    const indices = await chunks.listIndices()
    const rows = await chunks.countRows()
    const hasVectorIndex = indices.some((index) => index.columns.includes('vector'))
    if (this.#space.dimensions > 0 && !hasVectorIndex && rows >= this.#options.vectorIndexThreshold) {
      await chunks.createIndex('vector', { config: lancedb.Index.ivfPq({ distanceType: 'cosine' }) })
    }
    await chunks.optimize()
    await documents.optimize()
  }

  async #ensureFullTextIndex() {
    const { chunks } = this.#tables()
    const indices = await chunks.listIndices()
    if (indices.some((index) => index.indexType === 'FTS')) return
    if ((await chunks.countRows()) === 0) return
    // Lower case, English stemming and stop words as PostgreSQL's 'english' configuration; accents are
    // folded here too (PostgreSQL would need the unaccent extension for that).
    await chunks.createIndex('text', {
      config: lancedb.Index.fts({ asciiFolding: true, stem: true, language: 'English' }),
    })
  }

  #scheduleMaintenance() {
    if (this.#options.maintenanceDelayMs === 0) return
    clearTimeout(this.#maintenanceTimer)
    this.#maintenanceTimer = setTimeout(() => {
      this.optimize().catch(() => {})
    }, this.#options.maintenanceDelayMs)
    this.#maintenanceTimer.unref()
  }

  #tables() {
    if (!this.#documents || !this.#chunks) throw new Error('LanceStore used before open()')
    return { documents: this.#documents, chunks: this.#chunks }
  }

  #chunkRow(document: StoredDocument, chunk: StoredChunk): ChunkRow {
    const row: ChunkRow = {
      id: chunk.id,
      document_id: document.id,
      idx: chunk.index,
      text: chunk.text,
      text_hash: chunk.textHash,
      token_count: chunk.tokenCount,
      title: document.title,
      source: document.source,
      metadata: JSON.stringify(document.metadata),
      metadata_terms: metadataTerms(document.metadata),
    }
    if (this.#space.dimensions > 0) {
      if (chunk.vector?.length !== this.#space.dimensions) {
        throw new Error(`chunk ${chunk.id} has no ${this.#space.dimensions}-dimensional vector`)
      }
      row.vector = chunk.vector
    }
    return row
  }
}

async function ensureScalarIndexes(table: lancedb.Table, columns: string[]) {
  if ((await table.countRows()) === 0) return
  const indexed = new Set((await table.listIndices()).flatMap((index) => index.columns))
  for (const column of columns) {
    if (!indexed.has(column)) await table.createIndex(column, { config: lancedb.Index.btree() })
  }
}

function documentSchema() {
  const text = (name: string) => new arrow.Field(name, new arrow.Utf8(), false)
  return new arrow.Schema([
    text('id'),
    text('title'),
    text('source'),
    text('metadata'),
    text('text_hash'),
    new arrow.Field('chunk_count', new arrow.Int32(), false),
    text('created_at'),
    text('updated_at'),
  ])
}

function chunkSchema(dimensions: number) {
  const text = (name: string) => new arrow.Field(name, new arrow.Utf8(), false)
  const fields: import('apache-arrow').Field[] = [
    text('id'),
    text('document_id'),
    new arrow.Field('idx', new arrow.Int32(), false),
    text('text'),
    text('text_hash'),
    new arrow.Field('token_count', new arrow.Int32(), false),
    text('title'),
    text('source'),
    text('metadata'),
    text('metadata_terms'),
  ]
  if (dimensions > 0) {
    const item = new arrow.Field('item', new arrow.Float32(), true)
    fields.push(new arrow.Field('vector', new arrow.FixedSizeList(dimensions, item), true))
  }
  return new arrow.Schema(fields)
}

function documentRow(document: StoredDocument) {
  return {
    id: document.id,
    title: document.title,
    source: document.source,
    metadata: JSON.stringify(document.metadata),
    text_hash: document.textHash,
    chunk_count: document.chunkCount,
    created_at: document.createdAt,
    updated_at: document.updatedAt,
  }
}

// biome-ignore lint/suspicious/noExplicitAny: Arrow rows are untyped records
type Row = Record<string, any>

function fromDocumentRow(row: Row): StoredDocument {
  return {
    id: String(row.id),
    title: String(row.title),
    source: String(row.source),
    metadata: JSON.parse(String(row.metadata)) as Metadata,
    textHash: String(row.text_hash),
    chunkCount: Number(row.chunk_count),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  }
}

function fromChunkRow(row: Row): Omit<StoredChunk, 'vector'> {
  return {
    id: String(row.id),
    documentId: String(row.document_id),
    index: Number(row.idx),
    text: String(row.text),
    textHash: String(row.text_hash),
    tokenCount: Number(row.token_count),
  }
}

function toHit(row: Row, score: number): SearchHit {
  return {
    chunk: fromChunkRow(row),
    document: {
      id: String(row.document_id),
      title: String(row.title),
      source: String(row.source),
      metadata: JSON.parse(String(row.metadata)) as Metadata,
    },
    score,
  }
}

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex')

/** Type-tagged so 2023 the number never matches "2023" the string. */
function term(key: string, value: Metadata[string]): string {
  const type = typeof value === 'number' ? 'n' : typeof value === 'boolean' ? 'b' : 's'
  return `|${hex(key)}=${type}${hex(String(value))}|`
}

function metadataTerms(metadata: Metadata): string {
  return Object.entries(metadata)
    .map(([key, value]) => term(key, value))
    .join('')
}

function filterClause(filter: Metadata | undefined): string | undefined {
  const entries = Object.entries(filter ?? {})
  if (entries.length === 0) return undefined
  // Terms hold only [0-9a-f|=nbs]: no LIKE wildcard or quote can appear in them.
  return entries.map(([key, value]) => `metadata_terms LIKE '%${term(key, value)}%'`).join(' AND ')
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

async function readStoreFile(path: string): Promise<EmbeddingSpace | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as EmbeddingSpace
    return { model: parsed.model, dimensions: parsed.dimensions }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
