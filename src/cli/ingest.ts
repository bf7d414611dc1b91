/**
 * The ingestion CLI: puts Markdown, text, HTML and PDF files into the document store.
 *
 *   npm run ingest -- <files or folders>                 the store of this configuration (.env, RAG_DATA_DIR
 *                                                        or DATABASE_URL, EMBEDDING_*), written from here
 *   npm run ingest -- --url http://host:8000 <paths>     through a running server's API (POST /documents)
 *
 * Built to dist/cli/ingest.js (`node dist/cli/ingest.js ...`, as in the Docker image). Exit codes: 0 all
 * stored, 1 some file or the run failed, 2 usage, or a server holds the embedded store (use --url).
 */
import { parseArgs } from 'node:util'
import { Cancellation } from '../cancellation.js'
import { type Config, loadConfigOrExit } from '../config.js'
import type { IngestResult } from '../rag/ingest.js'
import { type IngestRun, ingestFiles, messageOf, type StoreBatch } from './ingest-files.js'
import { serverApi } from './server-api.js'
import { serverHoldingStore } from './store-holder.js'

const USAGE = [
  'usage: npm run ingest -- [--url http://host:8000 [--key <api key>]] <files or folders>...',
  '       (Markdown, text, HTML, PDF; from the built server: node dist/cli/ingest.js ...)',
  '  --url  store through the server running there (POST /documents) instead of into the store directly',
  '  --key  its API key of scope admin, when it has keys (default: GENAI_API_KEY from the environment)',
].join('\n')

/** Ends the process with a message on stderr. */
function exit(code: number, message: string): never {
  console.error(message)
  process.exit(code)
}

function commandLine() {
  try {
    const { values, positionals } = parseArgs({
      options: { url: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    })
    if (values.help || positionals.length === 0) exit(2, USAGE)
    if (values.key !== undefined && values.url === undefined) exit(2, `--key goes with --url\n${USAGE}`)
    if (values.url !== undefined && !/^https?:\/\/[^/]/.test(values.url)) {
      exit(2, `--url must be an http:// or https:// address, not '${values.url}'\n${USAGE}`)
    }
    return { paths: positionals, url: values.url, key: values.key }
  } catch (error) {
    exit(2, `${messageOf(error)}\n${USAGE}`)
  }
}

const started = performance.now()
const { paths, url, key } = commandLine()

/** The run against a server's API: nothing of this machine's configuration is read. */
async function throughServer(serverUrl: string): Promise<{ run: IngestRun; lines: string[] }> {
  const run = await ingestFiles(paths, serverApi(serverUrl, key ?? process.env.GENAI_API_KEY))
  return {
    run,
    lines: [
      `embedded:  ${sum(run.results, 'embedded')} (by the server)`,
      `store:     the server at ${serverUrl}`,
    ],
  }
}

/** The run into the configured store, in this process; refused while a server holds the embedded store. */
async function intoStore(config: Config): Promise<{ run: IngestRun; lines: string[] }> {
  if (!config.DATABASE_URL) {
    const holder = await serverHoldingStore(config.RAG_DATA_DIR)
    if (holder) {
      exit(
        2,
        `A server (pid ${holder.pid}, ${holder.url}) holds the document store in ${config.RAG_DATA_DIR}: it ` +
          'would not see documents written from here. Ingest through it instead, with the same command and\n' +
          `  --url ${holder.url}\nor stop the server first.`,
      )
    }
  }
  // Loaded here: the store, its native modules and the providers are not needed with --url.
  const { buildApp } = await import('../app.js')
  const app = await buildApp(config)
  const call = { signal: new Cancellation().signal, requestId: `ingest-${process.pid}` }
  const store: StoreBatch = (documents) => app.documents.ingest(documents, call)
  try {
    await app.documents.ready()
    const run = await ingestFiles(paths, store)
    const model = config.embedding
      ? ` with ${config.embedding.provider}:${config.embedding.model}`
      : ' (no embedding model: keyword search only)'
    const where = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `LanceDB in ${config.RAG_DATA_DIR}`
    return { run, lines: [`embedded:  ${sum(run.results, 'embedded')}${model}`, `store:     ${where}`] }
  } finally {
    await app.close()
  }
}

function sum(results: IngestResult[], key: 'chunks' | 'embedded' | 'fromCache'): number {
  return results.reduce((total, result) => total + result[key], 0)
}

let outcome: { run: IngestRun; lines: string[] }
try {
  outcome = url ? await throughServer(url) : await intoStore(loadConfigOrExit())
} catch (error) {
  exit(1, messageOf(error))
}
const { results, failures } = outcome.run
const count = (status: IngestResult['status']) => results.filter((result) => result.status === status).length
const [embedded, store] = outcome.lines
console.log(
  [
    `documents: ${results.length} (${count('created')} new, ${count('updated')} updated, ${count('unchanged')} unchanged)`,
    `chunks:    ${sum(results, 'chunks')}`,
    embedded,
    `from cache: ${sum(results, 'fromCache')}`,
    store,
    `time:      ${((performance.now() - started) / 1000).toFixed(1)} s`,
  ].join('\n'),
)
if (failures.length > 0) {
  exit(
    1,
    `\n${failures.length} file(s) could not be ingested:\n${failures.map((line) => `  ${line}`).join('\n')}`,
  )
}
