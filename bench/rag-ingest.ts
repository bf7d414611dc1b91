/**
 * Ingestion end to end, embedding excluded: files on disk to searchable chunks, through the same code as
 * `npm run ingest` (ingestFiles: read, parse, chunk, hash, embed through the cache, write in batches),
 * into LanceDB and into PostgreSQL (PGlite in process, served over the wire protocol: no server needed).
 * The corpus is the Fastify documentation (node_modules/fastify/docs, 41 files) copied COPIES times
 * under distinct folders, so every copy is a new document. Vectors come from an embedder that derives a
 * 1536-d unit vector from the text's hash; its time is measured and subtracted. The clock stops when a
 * keyword search finds the last document written.
 *
 * `npm run bench:rag-ingest` alone, or as part of `npm run bench:rag`. RAG_INGEST_COPIES sets the copies
 * (default 12: ~10k chunks); RAG_INGEST_STORES the configurations (default lancedb,lancedb-keyword,postgres;
 * also postgres-keyword): 1536-d vectors, or keyword-only as with EMBEDDING_PROVIDER=none.
 */
import { appendFile, cp, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Cancellation } from '../src/cancellation.js'
import type { Embedder } from '../src/providers/embeddings.js'
import { EmbeddingCache } from '../src/rag/embedding-cache.js'
import { Ingestor } from '../src/rag/ingest.js'
import { ingestFiles } from '../src/rag/ingest-files.js'
import { loadLanceStore } from '../src/rag/stores/lancedb/load.js'
import type { DocumentStore } from '../src/rag/types.js'

const DIMENSIONS = 1536
const SPACE = { model: 'bench:hash-vectors', dimensions: DIMENSIONS }
/** The server's default, EMBEDDING_PROVIDER=none: no embedder, keyword search only, no vector column. */
const KEYWORD_ONLY = { model: 'none', dimensions: 0 }
const CHUNKING = { maxTokens: 400, overlapTokens: 60 }
const DOCS = new URL('../node_modules/fastify/docs', import.meta.url).pathname

export interface IngestFigures {
  store: string
  files: number
  chunks: number
  /** Wall time from the first file read to the last document found by a search, embedding excluded. */
  seconds: number
  /** Of which the fake embedder took (already subtracted from `seconds`). */
  embeddingSeconds: number
  /** CPU time of the whole process (LanceDB's native threads included; PGlite runs in it too), embedder excluded. */
  cpuSeconds: number
  chunksPerSecond: number
}

/** A vector per text, derived from its characters: cheap and deterministic; its time is measured. */
class TimedEmbedder implements Embedder {
  readonly space = SPACE
  milliseconds = 0
  async embed(texts: string[]): Promise<Float32Array[]> {
    const started = performance.now()
    const vectors = texts.map((text) => {
      const vector = new Float32Array(DIMENSIONS)
      let seed = text.length
      for (let index = 0; index < DIMENSIONS; index++) {
        seed = (seed * 1_103_515_245 + (text.charCodeAt(index % text.length) || 1)) & 0x7fffffff
        vector[index] = seed / 0x7fffffff - 0.5
      }
      let norm = 0
      for (const value of vector) norm += value * value
      const scale = 1 / Math.sqrt(norm)
      for (let index = 0; index < DIMENSIONS; index++) vector[index] = (vector[index] as number) * scale
      return vector
    })
    this.milliseconds += performance.now() - started
    return vectors
  }
}

/** A word of letters only (both stores' tokenisers keep it whole) that names one file of the corpus. */
const markerOf = (file: number) =>
  `zqmarker${file.toString(26).replace(/./g, (digit) => String.fromCharCode(97 + Number.parseInt(digit, 26)))}`

/**
 * The Fastify documentation copied `copies` times, each copy a folder of its own; each file ends with a
 * marker word of its own, so a search can tell the copies apart. Returns the folder and the files' count.
 */
export async function makeCorpus(root: string, copies: number): Promise<Corpus> {
  const corpus = join(root, 'corpus')
  const markers = new Map<string, string>()
  for (let copy = 0; copy < copies; copy++) {
    const folder = join(corpus, `copy-${copy}`)
    await cp(DOCS, folder, { recursive: true })
    for (const entry of await readdir(folder, { recursive: true })) {
      if (!entry.endsWith('.md')) continue
      const marker = markerOf(markers.size)
      markers.set(resolve(folder, entry), marker)
      await appendFile(join(folder, entry), `\n\n${marker}\n`)
    }
  }
  return { corpus, markers }
}

interface Corpus {
  corpus: string
  /** Each file's marker word, by absolute path. */
  markers: Map<string, string>
}

/** Ingests `corpus` into a freshly opened `store`; returns the figures. */
export async function measureIngest(
  name: string,
  store: DocumentStore,
  { corpus, markers }: Corpus,
  { vectors = true }: { vectors?: boolean } = {},
): Promise<IngestFigures> {
  const embedder = new TimedEmbedder()
  await store.open(vectors ? SPACE : KEYWORD_ONLY)
  const embeddings = vectors ? new EmbeddingCache(embedder, { store, capacity: 5_000 }) : undefined
  const ingestor = new Ingestor(store, embeddings, CHUNKING)
  const call = { signal: new Cancellation().signal, requestId: 'bench-ingest' }
  let chunks = 0
  let last = ''
  const started = performance.now()
  const cpu = process.cpuUsage()
  const { failures } = await ingestFiles([corpus], (inputs) => ingestor.ingestMany(inputs, call), {
    ...(process.env.RAG_INGEST_BATCH ? { batchSize: Number(process.env.RAG_INGEST_BATCH) } : {}),
    // As the CLI with its default RAG_INGEST_MERGE_DOCUMENTS.
    mergeUpTo: Number(process.env.RAG_INGEST_MERGE_DOCUMENTS ?? 256),
    // As the CLI: the next batch is chunked while the store writes this one.
    prepare: (inputs) => ingestor.chunkAhead(inputs),
    onResult: (result, path) => {
      chunks += result.chunks
      last = path
    },
  })
  await ingestor.close()
  // As the CLI does before it returns.
  await store.indexForSearch()
  // Searchable: a keyword search finds the marker of the last file written.
  const hits = await store.searchKeyword(markers.get(resolve(last)) ?? 'missing', { topK: 5 })
  const elapsed = performance.now() - started
  const { user, system } = process.cpuUsage(cpu)
  if (hits.length !== 1) throw new Error(`${name}: ${hits.length} hits for the last file's marker`)
  if (failures.length > 0) throw new Error(`${name}: ${failures.length} files failed: ${failures[0]}`)
  const seconds = (elapsed - embedder.milliseconds) / 1000
  return {
    store: name,
    files: markers.size,
    chunks,
    seconds,
    embeddingSeconds: embedder.milliseconds / 1000,
    cpuSeconds: (user + system) / 1e6 - embedder.milliseconds / 1000,
    chunksPerSecond: chunks / seconds,
  }
}

/** LanceDB in a new folder under `root`. */
export async function lanceStore(root: string): Promise<DocumentStore> {
  const { LanceStore } = await loadLanceStore({
    LANCE_CPU_THREADS: Number(process.env.LANCE_CPU_THREADS ?? 4),
  })
  return new LanceStore({ directory: join(root, `lancedb-${Date.now()}`), maintenanceDelayMs: 0 })
}

/** PostgreSQL: an in-process PGlite with pgvector behind pglite-socket, one connection (as its tests). */
export async function postgresStore(): Promise<{ store: DocumentStore; stop: () => Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { vector } = await import('@electric-sql/pglite-pgvector')
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  const { PostgresStore } = await import('../src/rag/stores/postgres/store.js')
  const database = await PGlite.create({ extensions: { vector } })
  const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 4 })
  await server.start()
  const store = new PostgresStore({
    connectionString: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    maxConnections: 1,
  })
  return {
    store,
    stop: async () => {
      await store.close()
      await server.stop()
      await database.close()
    },
  }
}

/**
 * What `RAG_INGEST_STORES` names: a store, and whether chunks get 1536-d vectors (`lancedb`, `postgres`)
 * or none, as with the server's default EMBEDDING_PROVIDER=none (`lancedb-keyword`, `postgres-keyword`).
 */
const CONFIGURATIONS: Record<string, { label: string; vectors: boolean }> = {
  lancedb: { label: 'LanceDB (embedded), 1536-d vectors', vectors: true },
  'lancedb-keyword': { label: 'LanceDB (embedded), keyword-only (no vector column)', vectors: false },
  postgres: { label: 'PostgreSQL (PGlite in process, over a socket), 1536-d vectors', vectors: true },
  'postgres-keyword': {
    label: 'PostgreSQL (PGlite in process, over a socket), keyword-only',
    vectors: false,
  },
}

/** The named configurations (CONFIGURATIONS), one after the other, on one corpus, each in a new store. */
export async function ingestFigures(copies: number, stores: string[]): Promise<IngestFigures[]> {
  const unknown = stores.filter((name) => !(name in CONFIGURATIONS))
  if (unknown.length > 0)
    throw new Error(`unknown store ${unknown.join(', ')}: one of ${Object.keys(CONFIGURATIONS)}`)
  const root = await mkdtemp(join(tmpdir(), 'rag-ingest-'))
  try {
    const corpus = await makeCorpus(root, copies)
    const figures: IngestFigures[] = []
    for (const name of stores) {
      const { label, vectors } = CONFIGURATIONS[name] as (typeof CONFIGURATIONS)[string]
      const { store, stop } = name.startsWith('postgres')
        ? await postgresStore()
        : await lanceStore(root).then((store) => ({ store, stop: () => store.close() }))
      try {
        figures.push(await measureIngest(label, store, corpus, { vectors }))
      } finally {
        await stop()
      }
    }
    return figures
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

export function ingestTable(figures: IngestFigures[]): string {
  const rows = figures.map((figure) =>
    [
      figure.store,
      String(figure.files),
      figure.chunks.toLocaleString('en-US'),
      `${figure.seconds.toFixed(2)} s`,
      `${figure.embeddingSeconds.toFixed(2)} s`,
      `${figure.cpuSeconds.toFixed(2)} s`,
      `${((figure.cpuSeconds / figure.chunks) * 1000).toFixed(2)} s`,
      Math.round(figure.chunksPerSecond).toLocaleString('en-US'),
    ].join(' | '),
  )
  return [
    '| store | files | chunks | time, embedding excluded | fake embedder (subtracted) | CPU time | CPU per 1,000 chunks | chunks/s |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.LANCEDB_LOG ??= 'error'
  const copies = Number(process.env.RAG_INGEST_COPIES ?? 12)
  const stores = (process.env.RAG_INGEST_STORES ?? 'lancedb,lancedb-keyword,postgres').split(',')
  console.log(ingestTable(await ingestFigures(copies, stores)))
}
