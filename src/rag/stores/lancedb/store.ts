import type * as lancedb from '@lancedb/lancedb'
import type { EmbeddingSpace } from '../../../providers/embeddings.js'
import type {
  DocumentStore,
  Page,
  SearchHit,
  SearchOptions,
  StoredChunk,
  StoredDocument,
} from '../../types.js'
import { chunkBatch } from './chunk-batch.js'
import { retryCommitConflicts } from './commit-conflicts.js'
import { openFolder, type Tables } from './folder.js'
import { FullTextIndex } from './full-text-index.js'
import { KeyedLock } from './keyed-lock.js'
import { maintain } from './maintenance.js'
import { MaintenanceScheduler } from './maintenance-scheduler.js'
import { metadataFilterClause, sqlString } from './metadata-filter.js'
import { CHUNK_COLUMNS, documentRow, fromChunkRow, fromDocumentRow, toHit } from './rows.js'

export interface LanceStoreOptions {
  /** The folder holding the tables. */
  directory: string
  /** Rows from which vector search uses an ANN index instead of a flat scan. */
  vectorIndexThreshold?: number
  /** Quiet time after a write before index maintenance runs; 0 disables scheduling. */
  maintenanceDelayMs?: number
  /**
   * Longest steady writes may defer maintenance, from the first write it waits for. 10 s: 1,000 one-document
   * ingests kept their latency (1.08x last 100 against first 100; 1.84x with 30 s; npm run bench:rag-steady).
   */
  maintenanceMaxDeferralMs?: number
  /** How stale a read may be of what another process wrote to the folder; 0 checks on every read. */
  readConsistencyMs?: number
}

/**
 * The embedded default store: two LanceDB tables in a folder, nothing to install or run. Load it with
 * loadLanceStore() (./load.ts), which configures LanceDB's native module before it loads.
 */
export class LanceStore implements DocumentStore {
  readonly #options: Required<LanceStoreOptions>
  readonly #maintenance: MaintenanceScheduler
  readonly #fullText = new FullTextIndex(() => this.#opened().chunks)
  /** Writes of one document id, one at a time: concurrent merges of one id each inserted their rows. */
  readonly #writes = new KeyedLock()
  #connection: lancedb.Connection | undefined
  #tables: Tables | undefined
  #space: EmbeddingSpace = { model: 'none', dimensions: 0 }

  constructor(options: LanceStoreOptions) {
    this.#options = {
      vectorIndexThreshold: 10_000,
      maintenanceDelayMs: 5_000,
      maintenanceMaxDeferralMs: 10_000,
      readConsistencyMs: 1_000,
      ...options,
    }
    const { maintenanceDelayMs, maintenanceMaxDeferralMs } = this.#options
    this.#maintenance = new MaintenanceScheduler(
      { delayMs: maintenanceDelayMs, maxDeferralMs: maintenanceMaxDeferralMs },
      () =>
        maintain(
          this.#opened(),
          { dimensions: this.#space.dimensions, vectorIndexThreshold: this.#options.vectorIndexThreshold },
          this.#fullText,
        ),
    )
  }

  async open(space: EmbeddingSpace): Promise<void> {
    const { connection, tables } = await openFolder(this.#options.directory, space, {
      readConsistencyMs: this.#options.readConsistencyMs,
    })
    this.#space = space
    this.#connection = connection
    this.#tables = tables
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
    const ids = entries.map((entry) => entry.document.id)
    await this.#writes.run(ids, () => this.#write(entries))
    this.#maintenance.schedule()
  }

  /** Each commit is retried on a conflict (with maintenance, or another document's write): it wrote nothing. */
  async #write(entries: { document: StoredDocument; chunks: StoredChunk[] }[]): Promise<void> {
    const { documents, chunks: chunkTable } = this.#opened()
    const ids = entries.map((entry) => sqlString(entry.document.id))
    const previous = await documents
      .query()
      .where(`id IN (${ids.join(', ')})`)
      .select(['id', 'chunk_count'])
      .toArray()
    const previousCount = new Map(previous.map((row) => [String(row.id), Number(row.chunk_count)]))
    const append = previous.length === 0 && !(await this.#hasChunksOf(ids))
    if (entries.some(({ chunks }) => chunks.length > 0)) {
      // Built once, outside the retry: a retried commit sends the same table.
      const batch = chunkBatch(entries, this.#space.dimensions)
      await retryCommitConflicts(() =>
        append
          ? chunkTable.add(batch)
          : chunkTable.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(batch),
      )
    }
    const tails = entries
      .filter(({ document, chunks }) => (previousCount.get(document.id) ?? 0) > chunks.length)
      .map(({ document, chunks }) => `(document_id = ${sqlString(document.id)} AND idx >= ${chunks.length})`)
    if (tails.length > 0) await retryCommitConflicts(() => chunkTable.delete(tails.join(' OR ')))
    const rows = entries.map((entry) => documentRow(entry.document))
    await retryCommitConflicts(() =>
      append
        ? documents.add(rows)
        : documents.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows),
    )
  }

  /**
   * Whether any chunk row names one of these (quoted) document ids. A batch of new ids is appended, not
   * merged: LanceDB's merge joins the batch against the whole table on the id, an append only writes
   * files and commits. New means no document row and no chunk row: chunks are committed before their
   * document, so a crash between the two commits leaves chunk rows that an append would duplicate.
   */
  async #hasChunksOf(quotedIds: string[]): Promise<boolean> {
    const rows = await this.#opened()
      .chunks.query()
      .where(`document_id IN (${quotedIds.join(', ')})`)
      .select(['id'])
      .limit(1)
      .toArray()
    return rows.length > 0
  }

  async get(id: string): Promise<StoredDocument | undefined> {
    const [row] = await this.#opened()
      .documents.query()
      .where(`id = ${sqlString(id)}`)
      .limit(1)
      .toArray()
    return row ? fromDocumentRow(row) : undefined
  }

  async getMany(ids: string[]): Promise<StoredDocument[]> {
    if (ids.length === 0) return []
    const rows = await this.#opened()
      .documents.query()
      .where(`id IN (${ids.map(sqlString).join(', ')})`)
      .toArray()
    return rows.map(fromDocumentRow)
  }

  async chunks(id: string): Promise<Omit<StoredChunk, 'vector'>[]> {
    const rows = await this.#opened()
      .chunks.query()
      .where(`document_id = ${sqlString(id)}`)
      .select(CHUNK_COLUMNS)
      .toArray()
    return rows.map(fromChunkRow).sort((a, b) => a.index - b.index)
  }

  async list({ offset, limit }: { offset: number; limit: number }): Promise<Page<StoredDocument>> {
    const { documents } = this.#opened()
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

  /** An unknown id writes nothing: each delete is a commit, and a new table version, even when void. */
  async delete(id: string): Promise<boolean> {
    const { documents, chunks } = this.#opened()
    const existed = await this.#writes.run([id], async () => {
      if ((await documents.countRows(`id = ${sqlString(id)}`)) === 0) return false
      await retryCommitConflicts(() => chunks.delete(`document_id = ${sqlString(id)}`))
      await retryCommitConflicts(() => documents.delete(`id = ${sqlString(id)}`))
      return true
    })
    if (existed) this.#maintenance.schedule()
    return existed
  }

  async vectorsByHash(textHashes: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>()
    if (this.#space.dimensions === 0 || textHashes.length === 0) return found
    const rows = await this.#opened()
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
    let query = this.#opened()
      .chunks.vectorSearch(vector)
      .distanceType('cosine')
      // Naming the score column keeps LanceDB from warning on every query that it was left out.
      .select([...CHUNK_COLUMNS, '_distance'])
      .limit(options.topK)
    const filter = metadataFilterClause(options.filter)
    if (filter) query = query.where(filter)
    // Cosine distance is 1 - similarity; report the similarity.
    return (await query.toArray()).map((row) => toHit(row, 1 - Number(row._distance)))
  }

  async searchKeyword(text: string, options: SearchOptions): Promise<SearchHit[]> {
    if (text.trim() === '') return []
    const { chunks } = this.#opened()
    await this.#fullText.ensure()
    // A double-quoted phrase would be a phrase query, which an index without positions refuses (and
    // which PostgreSQL's plainto_tsquery does not make either): its words are matched like any others.
    let query = chunks
      .query()
      .fullTextSearch(text.replaceAll('"', ' '), { columns: ['text'] })
      .select([...CHUNK_COLUMNS, '_score'])
      .limit(options.topK)
    const filter = metadataFilterClause(options.filter)
    if (filter) query = query.where(filter)
    return (await query.toArray()).map((row) => toHit(row, Number(row._score)))
  }

  /** Counts the documents: a read of the table's manifest, not of its rows. */
  async ping(): Promise<void> {
    await this.#opened().documents.countRows()
  }

  /** Builds the full-text index, or rebuilds it when it covers fewer rows than it leaves out (FullTextIndex). */
  async indexForSearch(): Promise<void> {
    await this.#fullText.ensure()
  }

  /** Compacts, builds the vector index once there are enough rows, and indexes the unindexed tail. */
  async optimize(): Promise<void> {
    return this.#maintenance.run()
  }

  async close(): Promise<void> {
    await this.#maintenance.close()
    this.#tables?.documents.close()
    this.#tables?.chunks.close()
    this.#connection?.close()
    this.#tables = this.#connection = undefined
  }

  #opened(): Tables {
    if (!this.#tables) throw new Error('LanceStore used before open()')
    return this.#tables
  }
}
