/**
 * Files on disk into the store: the loop behind `npm run ingest`, shared with its benchmark. Files are
 * collected, parsed and handed to `ingest` in batches; a file that cannot be read, or a batch the store
 * refuses, is reported as a failure and the rest go on.
 */
import { collectFiles, parseFile } from './files.js'
import type { DocumentInput, IngestResult } from './ingest.js'

/**
 * What became of one document of a batch: stored, or refused alone with a reason to show (a server
 * behind `--url` refuses documents one by one; the store in this process refuses a batch by rejecting).
 */
export type DocumentOutcome = IngestResult | { error: string }

export interface IngestFilesOptions {
  /** Documents per call of `ingest` (one embedding call and one store write each). */
  batchSize?: number
  /** Once the paths are expanded: how many files there are. */
  onFiles?: (count: number) => void
  /** Before a file is read. */
  onFile?: (path: string) => void
  /** After its batch is written, for each file that was, with the encoding a text file was read in. */
  onResult?: (result: IngestResult, path: string, encoding: string | undefined) => void
  /**
   * Work to do on a batch before its turn to be written, while the batch before it is written (e.g.
   * Ingestor.chunkAhead); awaited before the batch's `ingest`, and must not reject.
   */
  prepare?: (inputs: DocumentInput[]) => Promise<void>
  /** True for an error of `ingest` that ends the run (ingestFiles rejects with it), not only the batch. */
  stopsRun?: (error: unknown) => boolean
}

export interface IngestFilesReport {
  results: IngestResult[]
  /** `<path>: <reason>`, one per file not ingested. */
  failures: string[]
}

/** Documents per store write by default: big enough to amortise a commit, small enough to show progress. */
export const DEFAULT_BATCH_SIZE = 32

/** Rejects only when `paths` cannot be expanded (a path that does not exist), or with an error that `stopsRun`. */
export async function ingestFiles(
  paths: string[],
  ingest: (inputs: DocumentInput[]) => Promise<DocumentOutcome[]>,
  options: IngestFilesOptions = {},
): Promise<IngestFilesReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  const results: IngestResult[] = []
  const failures: string[] = []
  const failed = (path: string, error: unknown) =>
    failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`)
  const write = async (batch: { path: string; input: DocumentInput; encoding?: string }[]) => {
    if (batch.length === 0) return
    try {
      const outcomes = await ingest(batch.map((entry) => entry.input))
      for (const [index, outcome] of outcomes.entries()) {
        const { path, encoding } = batch[index] as (typeof batch)[number]
        if ('error' in outcome) {
          failures.push(`${path}: ${outcome.error}`)
          continue
        }
        results.push(outcome)
        options.onResult?.(outcome, path, encoding)
      }
    } catch (error) {
      if (options.stopsRun?.(error)) throw error
      for (const entry of batch) failed(entry.path, error)
    }
  }
  const read = async (path: string) => {
    options.onFile?.(path)
    try {
      const file = await parseFile(path)
      const input = {
        title: file.title,
        text: file.text,
        source: file.source,
        metadata: { format: file.format },
      }
      return { path, input, encoding: file.encoding?.encoding }
    } catch (error) {
      failed(path, error)
      return undefined
    }
  }
  const files = await collectFiles(paths)
  options.onFiles?.(files.length)
  // The next batch's files are read, parsed and prepared while the store writes the one before: one
  // write at a time, in file order.
  let writing = Promise.resolve()
  for (let start = 0; start < files.length; start += batchSize) {
    const parsed = (await Promise.all(files.slice(start, start + batchSize).map(read))).filter(
      (entry) => entry !== undefined,
    )
    const prepared = options.prepare?.(parsed.map((entry) => entry.input))
    await writing
    await prepared
    writing = write(parsed)
    // Handled here too: a run-ending rejection must not count as unhandled while the next batch parses.
    writing.catch(() => {})
  }
  await writing
  return { results, failures }
}
