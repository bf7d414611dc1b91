/**
 * Files on disk into the store: the loop behind `npm run ingest`, shared with its benchmark. Files are
 * collected, parsed and handed to `ingest` in batches; a file that cannot be read, or a batch the store
 * refuses, is reported as a failure and the rest go on.
 */
import { collectFiles, parseFile } from './files.js'
import type { DocumentInput, IngestResult } from './ingest.js'

export interface IngestFilesOptions {
  /** Documents per call of `ingest` (one embedding call and one store write each). */
  batchSize?: number
  /** Once the paths are expanded: how many files there are. */
  onFiles?: (count: number) => void
  /** Before a file is read. */
  onFile?: (path: string) => void
  /** After its batch is written, for each file that was. */
  onResult?: (result: IngestResult, path: string) => void
}

export interface IngestFilesReport {
  results: IngestResult[]
  /** `<path>: <reason>`, one per file not ingested. */
  failures: string[]
}

/** Documents per store write by default: big enough to amortise a commit, small enough to show progress. */
export const DEFAULT_BATCH_SIZE = 32

/** Rejects only when `paths` cannot be expanded (a path that does not exist). */
export async function ingestFiles(
  paths: string[],
  ingest: (inputs: DocumentInput[]) => Promise<IngestResult[]>,
  options: IngestFilesOptions = {},
): Promise<IngestFilesReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  const results: IngestResult[] = []
  const failures: string[] = []
  let batch: { path: string; input: DocumentInput }[] = []
  const flush = async () => {
    const written = batch
    batch = []
    if (written.length === 0) return
    try {
      const outcomes = await ingest(written.map((entry) => entry.input))
      for (const [index, result] of outcomes.entries()) {
        results.push(result)
        options.onResult?.(result, written[index]?.path as string)
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      for (const entry of written) failures.push(`${entry.path}: ${reason}`)
    }
  }
  const files = await collectFiles(paths)
  options.onFiles?.(files.length)
  for (const path of files) {
    options.onFile?.(path)
    try {
      const file = await parseFile(path)
      batch.push({
        path,
        input: { title: file.title, text: file.text, source: file.source, metadata: { format: file.format } },
      })
    } catch (error) {
      failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (batch.length >= batchSize) await flush()
  }
  await flush()
  return { results, failures }
}
