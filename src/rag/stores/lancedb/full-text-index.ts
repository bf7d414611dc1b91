import * as lancedb from '@lancedb/lancedb'
import { retryCommitConflicts } from './commit-conflicts.js'

/**
 * The chunks' full-text index, built by one caller at a time: concurrent first searches on a fresh store
 * each built it, and all but one failed their request with "Retryable commit conflict ... CreateIndex".
 * Callers arriving during a build wait for it; a build that conflicts with another process's commit is
 * retried.
 */
export class FullTextIndex {
  readonly #chunks: () => lancedb.Table
  #building: Promise<void> | undefined

  constructor(chunks: () => lancedb.Table) {
    this.#chunks = chunks
  }

  /** Resolves once the index exists (the table has rows) and covers most of them. */
  ensure(): Promise<void> {
    this.#building ??= retryCommitConflicts(() => ensureFullTextIndex(this.#chunks())).finally(() => {
      this.#building = undefined
    })
    return this.#building
  }
}

/**
 * Full-text search needs its index: built on the first keyword search or maintenance with rows, and
 * rebuilt when it covers fewer rows than it leaves unindexed. LanceDB searches the unindexed rows too,
 * but scores them with the index's statistics: with few rows indexed, matching new rows score nothing
 * and vanish (on a store of one document, deleted then sent again, the new version was not found until
 * maintenance ran).
 */
async function ensureFullTextIndex(chunks: lancedb.Table): Promise<void> {
  const index = (await chunks.listIndices()).find((candidate) => candidate.indexType === 'FTS')
  if (index) {
    const stats = await chunks.indexStats(index.name)
    if (!stats || stats.numIndexedRows >= stats.numUnindexedRows) return
  } else if ((await chunks.countRows()) === 0) return
  // Lower case, English stemming and stop words as PostgreSQL's 'english' configuration; accents are
  // folded here too (PostgreSQL would need the unaccent extension for that). Without token positions:
  // they serve phrase queries only, which the store never sends (searchKeyword unquotes), and they made
  // the build take 1.9x the time (10,728 chunks: ~800 ms against ~420 ms, BENCHMARKS.md).
  await chunks.createIndex('text', {
    config: lancedb.Index.fts({ asciiFolding: true, stem: true, language: 'English', withPosition: false }),
    replace: true,
  })
}
