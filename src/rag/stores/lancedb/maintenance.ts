import * as lancedb from '@lancedb/lancedb'
import { retryCommitConflicts } from './commit-conflicts.js'
import type { Tables } from './folder.js'
import type { FullTextIndex } from './full-text-index.js'

export interface MaintenanceOptions {
  /** The store's vector width; 0 for keyword-only (no vector index). */
  dimensions: number
  /** Rows from which vector search uses an ANN index instead of a flat scan. */
  vectorIndexThreshold: number
}

/** Indexes what is not indexed yet, builds the vector index once there are enough rows, and compacts. */
export async function maintain(
  { documents, chunks }: Tables,
  options: MaintenanceOptions,
  fullText: FullTextIndex,
): Promise<void> {
  await fullText.ensure()
  // Scalar indexes turn the lookups by id, document and text hash (merges, deletes, the embedding
  // cache) from scans into index reads.
  await ensureScalarIndexes(chunks, ['id', 'document_id', 'text_hash'])
  await ensureScalarIndexes(documents, ['id'])
  const indices = await chunks.listIndices()
  const rows = await chunks.countRows()
  const hasVectorIndex = indices.some((index) => index.columns.includes('vector'))
  if (options.dimensions > 0 && !hasVectorIndex && rows >= options.vectorIndexThreshold) {
    await retryCommitConflicts(() =>
      chunks.createIndex('vector', { config: lancedb.Index.ivfPq({ distanceType: 'cosine' }) }),
    )
  }
  await retryCommitConflicts(() => chunks.optimize())
  await retryCommitConflicts(() => documents.optimize())
}

async function ensureScalarIndexes(table: lancedb.Table, columns: string[]) {
  if ((await table.countRows()) === 0) return
  const indexed = new Set((await table.listIndices()).flatMap((index) => index.columns))
  for (const column of columns) {
    if (!indexed.has(column))
      await retryCommitConflicts(() => table.createIndex(column, { config: lancedb.Index.btree() }))
  }
}
