import * as lancedb from '@lancedb/lancedb'
import type { Tables } from './folder.js'

export interface MaintenanceOptions {
  /** The store's vector width; 0 for keyword-only (no vector index). */
  dimensions: number
  /** Rows from which vector search uses an ANN index instead of a flat scan. */
  vectorIndexThreshold: number
}

/** Indexes what is not indexed yet, builds the vector index once there are enough rows, and compacts. */
export async function maintain({ documents, chunks }: Tables, options: MaintenanceOptions): Promise<void> {
  await ensureFullTextIndex(chunks)
  // Scalar indexes turn the lookups by id, document and text hash (merges, deletes, the embedding
  // cache) from scans into index reads.
  await ensureScalarIndexes(chunks, ['id', 'document_id', 'text_hash'])
  await ensureScalarIndexes(documents, ['id'])
  const indices = await chunks.listIndices()
  const rows = await chunks.countRows()
  const hasVectorIndex = indices.some((index) => index.columns.includes('vector'))
  if (options.dimensions > 0 && !hasVectorIndex && rows >= options.vectorIndexThreshold) {
    await chunks.createIndex('vector', { config: lancedb.Index.ivfPq({ distanceType: 'cosine' }) })
  }
  await chunks.optimize()
  await documents.optimize()
}

/** Full-text search needs its index: built on the first keyword search or maintenance with rows. */
export async function ensureFullTextIndex(chunks: lancedb.Table): Promise<void> {
  const indices = await chunks.listIndices()
  if (indices.some((index) => index.indexType === 'FTS')) return
  if ((await chunks.countRows()) === 0) return
  // Lower case, English stemming and stop words as PostgreSQL's 'english' configuration; accents are
  // folded here too (PostgreSQL would need the unaccent extension for that).
  await chunks.createIndex('text', {
    config: lancedb.Index.fts({ asciiFolding: true, stem: true, language: 'English' }),
  })
}

async function ensureScalarIndexes(table: lancedb.Table, columns: string[]) {
  if ((await table.countRows()) === 0) return
  const indexed = new Set((await table.listIndices()).flatMap((index) => index.columns))
  for (const column of columns) {
    if (!indexed.has(column)) await table.createIndex(column, { config: lancedb.Index.btree() })
  }
}
