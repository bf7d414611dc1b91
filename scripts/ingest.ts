/**
 * `npm run ingest -- <files or folders>`: puts Markdown, text, HTML and PDF files into the document
 * store the server uses (same configuration: .env, RAG_DATA_DIR or DATABASE_URL, EMBEDDING_*).
 */
import { SingleBar } from 'cli-progress'
import { buildApp } from '../src/app.js'
import { Cancellation } from '../src/cancellation.js'
import { loadConfigOrExit } from '../src/config.js'
import { collectFiles, parseFile } from '../src/rag/files.js'
import type { DocumentInput, IngestResult } from '../src/rag/ingest.js'

/** Documents per store write: big enough to amortise a commit, small enough to show progress. */
const BATCH_SIZE = 32

const paths = process.argv.slice(2)
if (paths.length === 0) {
  console.error('usage: npm run ingest -- <files or folders>...   (Markdown, text, HTML, PDF)')
  process.exit(2)
}

const config = loadConfigOrExit()

const started = performance.now()
const app = await buildApp(config)
const call = { signal: new Cancellation().signal, requestId: `ingest-${process.pid}` }
const results: IngestResult[] = []
const failures: string[] = []

try {
  await app.documents.ready()
  const files = await collectFiles(paths)
  const interactive = process.stderr.isTTY
  const bar = new SingleBar({
    format: 'ingesting |{bar}| {value}/{total} files  {file}',
    hideCursor: true,
    clearOnComplete: false,
  })
  if (interactive) bar.start(files.length, 0, { file: '' })
  // Documents go to the store in batches: one embedding call and one store write per batch.
  let batch: { path: string; input: DocumentInput }[] = []
  const flush = async () => {
    const written = batch
    batch = []
    if (written.length === 0) return
    try {
      const outcomes = await app.documents.ingest(
        written.map((entry) => entry.input),
        call,
      )
      for (const [index, result] of outcomes.entries()) {
        results.push(result)
        if (!interactive) {
          console.error(`${result.status.padEnd(9)} ${written[index]?.path} (${result.chunks} chunks)`)
        }
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      for (const entry of written) failures.push(`${entry.path}: ${reason}`)
    }
  }
  for (const path of files) {
    if (interactive) bar.update({ file: path })
    try {
      const file = await parseFile(path)
      batch.push({
        path,
        input: { title: file.title, text: file.text, source: file.source, metadata: { format: file.format } },
      })
    } catch (error) {
      failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (batch.length >= BATCH_SIZE) await flush()
    if (interactive) bar.increment()
  }
  await flush()
  if (interactive) bar.stop()
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  await app.close()
  process.exit(1)
}
await app.close()

const count = (status: IngestResult['status']) => results.filter((result) => result.status === status).length
const sum = (key: 'chunks' | 'embedded' | 'fromCache') =>
  results.reduce((total, result) => total + result[key], 0)
console.log(
  [
    `documents: ${results.length} (${count('created')} new, ${count('updated')} updated, ${count('unchanged')} unchanged)`,
    `chunks:    ${sum('chunks')}`,
    `embedded:  ${sum('embedded')}${config.embedding ? ` with ${config.embedding.provider}:${config.embedding.model}` : ' (no embedding model: keyword search only)'}`,
    `from cache: ${sum('fromCache')}`,
    `store:     ${config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `LanceDB in ${config.RAG_DATA_DIR}`}`,
    `time:      ${((performance.now() - started) / 1000).toFixed(1)} s`,
  ].join('\n'),
)
if (failures.length > 0) {
  console.error(
    `\n${failures.length} file(s) could not be ingested:\n${failures.map((line) => `  ${line}`).join('\n')}`,
  )
  process.exit(1)
}
