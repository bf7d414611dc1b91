/**
 * `npm run ingest -- <files or folders>`: puts Markdown, text, HTML and PDF files into the document
 * store the server uses (same configuration: .env, RAG_DATA_DIR or DATABASE_URL, EMBEDDING_*).
 */
import { SingleBar } from 'cli-progress'
import { buildApp } from '../src/app.js'
import { Cancellation } from '../src/cancellation.js'
import { loadConfigOrExit } from '../src/config.js'
import type { IngestResult } from '../src/rag/ingest.js'
import { ingestFiles } from '../src/rag/ingest-files.js'

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
  const interactive = process.stderr.isTTY
  const bar = new SingleBar({
    format: 'ingesting |{bar}| {value}/{total} files  {file}',
    hideCursor: true,
    clearOnComplete: false,
  })
  const report = await ingestFiles(paths, (inputs) => app.documents.ingest(inputs, call), {
    onFiles: (count) => interactive && bar.start(count, 0, { file: '' }),
    onFile: (path) => interactive && bar.increment({ file: path }),
    onResult: (result, path) => {
      if (!interactive) console.error(`${result.status.padEnd(9)} ${path} (${result.chunks} chunks)`)
    },
  })
  results.push(...report.results)
  failures.push(...report.failures)
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
