/**
 * Does ingestion stay as fast under steady writes? 1,000 documents ingested one at a time (as 1,000
 * POST /documents of one document each, through the same Ingestor, keyword-only), per store, with the
 * store's own maintenance timing. Prints the median per-document latency of the first and last 100 and
 * their ratio (issue 12: within 2x; before maintenance had a ceiling, LanceDB went from 62 to 567 ms as
 * every write put compaction off again). Not a unit test: ~1-3 minutes per store on 2 cores.
 *
 *   npm run bench:rag-steady                         # LanceDB, then PostgreSQL (PGlite, in process)
 *   RAG_STEADY_STORES=lancedb RAG_STEADY_DOCUMENTS=300 npm run bench:rag-steady
 *   RAG_STEADY_MAX_DEFERRAL_MS=100000000 ...         # LanceDB as before: maintenance deferred for ever
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { Cancellation } from '../src/cancellation.js'
import { parseConfig } from '../src/config.js'
import { Ingestor } from '../src/rag/ingest.js'
import { loadLanceStore } from '../src/rag/stores/lancedb/load.js'
import { PostgresStore } from '../src/rag/stores/postgres/store.js'
import type { DocumentStore } from '../src/rag/types.js'

process.env.LANCEDB_LOG ??= 'error'
const configuration = parseConfig(process.env)
const { LanceStore } = await loadLanceStore(configuration)

const DOCUMENTS = Number(process.env.RAG_STEADY_DOCUMENTS ?? 1_000)
const WINDOW = Math.max(10, Math.floor(DOCUMENTS / 10))
const STORES = (process.env.RAG_STEADY_STORES ?? 'lancedb,postgres').split(',')
const MAX_DEFERRAL_MS = process.env.RAG_STEADY_MAX_DEFERRAL_MS
const CORPUS = join(import.meta.dirname, '../test/fixtures/rag-corpus')
const CHUNKING = { maxTokens: configuration.CHUNK_TOKENS, overlapTokens: configuration.CHUNK_OVERLAP_TOKENS }

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** The sample corpus's texts, each document a revision of one of them so none is skipped as unchanged. */
async function corpus(): Promise<string[]> {
  const files = (await readdir(CORPUS)).filter((name) => name.endsWith('.md')).sort()
  return Promise.all(files.map((name) => readFile(join(CORPUS, name), 'utf8')))
}

async function measure(name: string, store: DocumentStore, texts: string[]) {
  await store.open({ model: 'none', dimensions: 0 })
  const ingestor = new Ingestor(store, undefined, CHUNKING)
  const call = { signal: new Cancellation().signal, requestId: 'bench-rag-steady' }
  const latencies: number[] = []
  let chunks = 0
  const started = performance.now()
  for (let number = 0; number < DOCUMENTS; number++) {
    const text = `${texts[number % texts.length]}\n\nRevision ${number}.`
    const before = performance.now()
    const [result] = await ingestor.ingestMany([{ id: `doc-${number}`, text }], call)
    latencies.push(performance.now() - before)
    chunks += result?.chunks ?? 0
  }
  const seconds = (performance.now() - started) / 1000
  const first = median(latencies.slice(0, WINDOW))
  const last = median(latencies.slice(-WINDOW))
  const listStarted = performance.now()
  await store.list({ offset: 0, limit: 20 })
  const listMs = performance.now() - listStarted
  await store.close()
  console.log(
    `${name.padEnd(10)} ${DOCUMENTS} documents (${chunks} chunks) in ${seconds.toFixed(1)} s: median ` +
      `first ${WINDOW} ${first.toFixed(1)} ms, last ${WINDOW} ${last.toFixed(1)} ms, ratio ` +
      `${(last / first).toFixed(2)}x; list after: ${listMs.toFixed(1)} ms`,
  )
}

const texts = await corpus()
console.log(
  `load average ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')}, CHUNK_TOKENS ${CHUNKING.maxTokens}`,
)
if (STORES.includes('lancedb')) {
  const directory = await mkdtemp(join(tmpdir(), 'rag-steady-'))
  const timing = MAX_DEFERRAL_MS ? { maintenanceMaxDeferralMs: Number(MAX_DEFERRAL_MS) } : {}
  try {
    await measure('LanceDB', new LanceStore({ directory, ...timing }), texts)
  } finally {
    await rm(directory, { recursive: true, force: true })
  }
}
if (STORES.includes('postgres')) {
  const database = await PGlite.create()
  const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0 })
  await server.start()
  try {
    const connectionString = `postgres://postgres:postgres@${server.getServerConn()}/postgres`
    // PGlite serves one backend: one connection, as in the tests.
    await measure('PostgreSQL', new PostgresStore({ connectionString, maxConnections: 1 }), texts)
  } finally {
    await server.stop()
    await database.close()
  }
}
