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
import { SingleBar } from 'cli-progress'
import type { FastifyInstance } from 'fastify'
import { Cancellation } from '../cancellation.js'
import { type Config, loadConfigOrExit } from '../config.js'
import { ChunkPool } from '../rag/chunk-pool.js'
import type { DocumentInput, IngestResult } from '../rag/ingest.js'
import { type DocumentOutcome, type IngestFilesReport, ingestFiles } from '../rag/ingest-files.js'
import { StopIngestion, serverApi } from './server-api.js'
import { serverHoldingStore } from './store-holder.js'

const USAGE = [
  'usage: npm run ingest -- [--url http://host:8000 [--key <api key>]] <files or folders>...',
  '       (Markdown, text, HTML, PDF; from the built server: node dist/cli/ingest.js ...)',
  '  --url  store through the server running there (POST /documents) instead of into the store directly',
  '  --key  its API key of scope admin, when it has keys (default: GENAI_API_KEY from the environment)',
].join('\n')

type StoreBatch = (documents: DocumentInput[]) => Promise<DocumentOutcome[]>

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
    exit(2, `${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
}

const started = performance.now()
const { paths, url, key } = commandLine()

/** ingestFiles with a progress bar on a terminal, else a line per file stored. */
async function run(
  store: StoreBatch,
  inProcess?: { prepare: (documents: DocumentInput[]) => Promise<void>; mergeUpTo: number },
): Promise<IngestFilesReport> {
  const interactive = process.stderr.isTTY
  const bar = new SingleBar({
    format: 'ingesting |{bar}| {value}/{total} files  {file}',
    hideCursor: true,
    clearOnComplete: false,
  })
  try {
    return await ingestFiles(paths, store, {
      onFiles: (count) => interactive && bar.start(count, 0, { file: '' }),
      onFile: (path) => interactive && bar.increment({ file: path }),
      onResult: (result, path, encoding) => {
        if (interactive) return
        // An encoding other than UTF-8 is shown, so that a wrong guess can be seen and the file converted.
        const shown = encoding && encoding !== 'utf-8' ? `, ${encoding}` : ''
        console.error(`${result.status.padEnd(9)} ${path} (${result.chunks} chunks${shown})`)
      },
      stopsRun: (error) => error instanceof StopIngestion,
      ...inProcess,
    })
  } finally {
    if (interactive) bar.stop()
  }
}

/** The run against a server's API: nothing of this machine's configuration is read. */
async function throughServer(serverUrl: string): Promise<{ run: IngestFilesReport; lines: string[] }> {
  const report = await run(serverApi(serverUrl, key ?? process.env.GENAI_API_KEY))
  return {
    run: report,
    lines: [
      `embedded:  ${sum(report.results, 'embedded')} (by the server)`,
      `store:     the server at ${serverUrl}`,
    ],
  }
}

/** The run into the configured store, in this process; refused while a server holds the embedded store. */
async function intoStore(config: Config): Promise<{ run: IngestFilesReport; lines: string[] }> {
  if (!config.DATABASE_URL) {
    const holder = await serverHoldingStore(config.RAG_DATA_DIR)
    if (holder) {
      exit(
        2,
        `A server (pid ${holder.pid}, ${holder.url}) holds the document store in ${config.RAG_DATA_DIR}, and ` +
          'LanceDB does not coordinate two writers. Ingest through the server instead, with the same command and\n' +
          `  --url ${holder.url}\nor stop the server first.`,
      )
    }
  }
  // Started first: its threads load the tokenizer (~0.5 s, twice that from the TypeScript sources) while
  // this thread loads and builds the app (~1.5 s), instead of after it, when the first files are read.
  const chunking = new ChunkPool()
  chunking.warm()
  try {
    // Loaded here: the store, its native modules and the providers are not needed with --url.
    const { buildApp } = await import('../app.js')
    const app = await buildApp(config, { chunker: (text, options) => chunking.chunk(text, options) })
    try {
      return await ingestInto(app, config)
    } finally {
      await app.close()
    }
  } finally {
    await chunking.close()
  }
}

/** The run into the built app's store, then its full-text index. */
async function ingestInto(
  app: FastifyInstance,
  config: Config,
): Promise<{ run: IngestFilesReport; lines: string[] }> {
  const call = { signal: new Cancellation().signal, requestId: `ingest-${process.pid}` }
  const store: StoreBatch = (documents) => app.documents.ingest(documents, call)
  await app.documents.ready()
  // The next batches are chunked while the store writes, and written together when it falls behind.
  const report = await run(store, {
    prepare: (documents) => app.documents.chunkAhead(documents),
    mergeUpTo: config.RAG_INGEST_MERGE_DOCUMENTS,
  })
  // Indexed before the CLI returns, not by the first search after it: that search (a server's) would
  // otherwise wait for the full-text index of everything this run wrote.
  await app.documents.indexForSearch()
  const model = config.embedding
    ? ` with ${config.embedding.provider}:${config.embedding.model}`
    : ' (no embedding model: keyword search only)'
  const where = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `LanceDB in ${config.RAG_DATA_DIR}`
  return {
    run: report,
    lines: [`embedded:  ${sum(report.results, 'embedded')}${model}`, `store:     ${where}`],
  }
}

function sum(results: IngestResult[], key: 'chunks' | 'embedded' | 'fromCache'): number {
  return results.reduce((total, result) => total + result[key], 0)
}

let outcome: { run: IngestFilesReport; lines: string[] }
try {
  outcome = url ? await throughServer(url) : await intoStore(loadConfigOrExit())
} catch (error) {
  exit(1, error instanceof Error ? error.message : String(error))
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
