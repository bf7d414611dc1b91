/**
 * The CLI's loop: finds the files under the paths given, parses each and hands them in batches to
 * whatever stores them (the store in this process, or a running server's API), showing progress.
 */
import { SingleBar } from 'cli-progress'
import { collectFiles, type ParsedFile, parseFile } from '../rag/files.js'
import type { DocumentInput, IngestResult } from '../rag/ingest.js'

/** What became of one document of a batch: stored, or refused with a reason to show. */
export type DocumentOutcome = IngestResult | { error: string }

/**
 * Stores a batch, one outcome per document in order. Rejecting fails the whole batch (each of its files
 * is reported with the reason), unless it rejects with StopIngestion, which ends the run.
 */
export type StoreBatch = (documents: DocumentInput[]) => Promise<DocumentOutcome[]>

/** Nothing more can be stored (the server is unreachable, or refuses the key): the run stops. */
export class StopIngestion extends Error {
  override name = 'StopIngestion'
}

export interface IngestRun {
  results: IngestResult[]
  /** One line per file that was not stored: `<path>: <reason>`. */
  failures: string[]
}

/** Documents per store write: big enough to amortise a commit, small enough to show progress. */
const BATCH_SIZE = 32

/** Ingests every file under `paths`; rejects with StopIngestion, or when a path does not exist. */
export async function ingestFiles(paths: string[], store: StoreBatch): Promise<IngestRun> {
  const files = await collectFiles(paths)
  const run: IngestRun = { results: [], failures: [] }
  const interactive = process.stderr.isTTY
  const bar = new SingleBar({
    format: 'ingesting |{bar}| {value}/{total} files  {file}',
    hideCursor: true,
    clearOnComplete: false,
  })
  if (interactive) bar.start(files.length, 0, { file: '' })
  let batch: ParsedFile[] = []
  const flush = async () => {
    const written = batch
    batch = []
    if (written.length > 0) record(run, written, await outcomesOf(written, store), interactive)
  }
  try {
    for (const path of files) {
      if (interactive) bar.update({ file: path })
      try {
        batch.push(await parseFile(path))
      } catch (error) {
        run.failures.push(`${path}: ${messageOf(error)}`)
      }
      if (batch.length >= BATCH_SIZE) await flush()
      if (interactive) bar.increment()
    }
    await flush()
  } finally {
    if (interactive) bar.stop()
  }
  return run
}

async function outcomesOf(files: ParsedFile[], store: StoreBatch): Promise<DocumentOutcome[]> {
  const documents = files.map((file) => ({
    title: file.title,
    text: file.text,
    source: file.source,
    metadata: { format: file.format },
  }))
  try {
    return await store(documents)
  } catch (error) {
    if (error instanceof StopIngestion) throw error
    return files.map(() => ({ error: messageOf(error) }))
  }
}

function record(run: IngestRun, files: ParsedFile[], outcomes: DocumentOutcome[], interactive: boolean) {
  for (const [index, outcome] of outcomes.entries()) {
    const file = files[index] as ParsedFile
    if ('error' in outcome) {
      run.failures.push(`${file.source}: ${outcome.error}`)
      continue
    }
    run.results.push(outcome)
    if (!interactive) {
      // An encoding other than UTF-8 is shown, so that a wrong guess can be seen and the file converted.
      const encoding =
        file.encoding && file.encoding.encoding !== 'utf-8' ? `, ${file.encoding.encoding}` : ''
      console.error(`${outcome.status.padEnd(9)} ${file.source} (${outcome.chunks} chunks${encoding})`)
    }
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
