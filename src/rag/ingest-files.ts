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
  /** Files read, and prepared, together: the documents of one call of `ingest` unless writes merge. */
  batchSize?: number
  /**
   * Most documents one call of `ingest` may take: batches prepared while the write before them ran
   * are written together, up to this many documents (default: `batchSize`, no merging). Each LanceDB
   * commit has a cost of its own (CPU, and under load the time its threads wait for a core), so a store
   * that falls behind catches up in fewer, larger commits; one that keeps up still writes each batch
   * as soon as it is ready. Not for a server's API, whose request bodies have a size limit.
   */
  mergeUpTo?: number
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
  const write = async (batch: Parsed[]) => {
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
  const read = async (path: string): Promise<Parsed | undefined> => {
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
  const mergeUpTo = Math.max(batchSize, options.mergeUpTo ?? batchSize)
  // Batches read and prepared ahead of the write in progress, oldest first. Reading pauses while
  // mergeUpTo documents wait, so memory stays bounded whatever the store's speed.
  const ahead: Ahead[] = []
  const signals = { readAll: false, writerDone: false, wakeWriter: () => {}, wakeReader: () => {} }
  const waiting = () => ahead.reduce((count, batch) => count + batch.parsed.length, 0)
  // One write at a time, in file order: the first batch waiting once prepared, with the batches after
  // it that are prepared already, up to mergeUpTo documents.
  const writer = (async () => {
    for (;;) {
      const first = ahead[0]
      if (!first) {
        if (signals.readAll) return
        await new Promise<void>((resolve) => {
          signals.wakeWriter = resolve
        })
        continue
      }
      await first.prepared
      const batch = [...first.parsed]
      ahead.shift()
      while (ahead[0]?.ready && batch.length + ahead[0].parsed.length <= mergeUpTo) {
        batch.push(...(ahead.shift() as Ahead).parsed)
      }
      signals.wakeReader()
      await write(batch)
    }
  })().finally(() => {
    signals.writerDone = true
    signals.wakeReader()
  })
  // Awaited at the end; handled here too, so that a run-ending rejection does not count as unhandled
  // while the reader is still reading.
  writer.catch(() => {})
  for (let start = 0; start < files.length && !signals.writerDone; start += batchSize) {
    while (waiting() >= mergeUpTo && !signals.writerDone) {
      await new Promise<void>((resolve) => {
        signals.wakeReader = resolve
      })
    }
    const parsed = (await Promise.all(files.slice(start, start + batchSize).map(read))).filter(
      (entry) => entry !== undefined,
    )
    const batch: Ahead = { parsed, prepared: Promise.resolve(), ready: false }
    batch.prepared = (options.prepare?.(parsed.map((entry) => entry.input)) ?? Promise.resolve()).then(() => {
      batch.ready = true
    })
    ahead.push(batch)
    signals.wakeWriter()
  }
  signals.readAll = true
  signals.wakeWriter()
  await writer
  return { results, failures }
}

interface Parsed {
  path: string
  input: DocumentInput
  encoding?: string
}

/** A batch read, being prepared or prepared (`ready`), waiting for its write. */
interface Ahead {
  parsed: Parsed[]
  prepared: Promise<void>
  ready: boolean
}
