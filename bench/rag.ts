/**
 * How fast is the embedded RAG store? Writes with precomputed vectors (embedding excluded), the chunker,
 * query latency at 10k and 100k chunks of 1536 dimensions after optimize() (vector, keyword, hybrid),
 * index build, memory, disk, and a cold open in a fresh process. The corpus is synthetic and seeded:
 * runs differ only by the machine. Prints a table and rewrites the RAG section of BENCHMARKS.md.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import * as lancedb from '@lancedb/lancedb'
import type { Data, DataType, Schema } from 'apache-arrow'
import { countTokens } from 'gpt-tokenizer'
import type { Embedder } from '../src/providers/embeddings.js'
import { chunkText } from '../src/rag/chunker.js'
import { EmbeddingCache, textHash } from '../src/rag/embedding-cache.js'
import { retrieve } from '../src/rag/retrieve.js'
import { LanceStore } from '../src/rag/stores/lancedb.js'
import type { StoredChunk, StoredDocument } from '../src/rag/types.js'

// The CommonJS copy LanceDB checks its types against (see src/rag/stores/lancedb.ts).
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow')

const SEED = 20_261_126
const DIMENSIONS = 1536
const SPACE = { model: 'bench:random-unit', dimensions: DIMENSIONS }
const CHUNK_TOKENS = 300
const CHUNKING = { maxTokens: CHUNK_TOKENS, overlapTokens: 60 }
const CHUNKS_PER_DOCUMENT = 20
const PER_DOCUMENT_UPSERTS = 200
const AFTER_COMPACTION_UPSERTS = 50
const BATCH_CHUNKS = 1_000
const SMALL = 10_000
const LARGE = 100_000
const FIXTURE_BATCH = 10_000
const WARMUP = 20
const QUERIES = 200
const TOP_K = 5
const COLD_OPENS = 3
/** The store's default IVF_PQ build at 100k rows does not fit the run's 10 minutes on 2 cores. */
const LARGE_INDEX = { numPartitions: 256, numSubVectors: 96, maxIterations: 20, sampleRate: 64 }
const DEFAULT_INDEX_AT_LARGE = process.env.RAG_BENCH_DEFAULT_INDEX === '1'
const SECTION = '## RAG store (LanceDB, embedded)'
const NOW = '2026-01-01T00:00:00.000Z'

// --- the synthetic corpus: every text and vector is a function of its chunk number -------------------

/** mulberry32: small, fast and seedable, which Math.random is not. */
function prng(seed: number): () => number {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state)
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296
  }
}
const seedOf = (...parts: number[]) =>
  parts.reduce((seed, part) => Math.imul(seed ^ part, 0x9e3779b1) + 1, SEED)
const pick = <T>(items: readonly T[], random: () => number) => items[Math.floor(random() * items.length)] as T

const FUNCTION_WORDS = (
  'the of and to a in is that for it as with was on be by this are or from at an which not but have has ' +
  'can will more its also'
).split(' ')
const SYLLABLES =
  'ka lo mi ne ru ta shi po ven dor al ex in stra ple gon mar tek sol ri bra cu fen ga hol ju'.split(' ')

/** English function words first (the most frequent, as in real text), then made-up words. */
const WORDS = (() => {
  const random = prng(SEED)
  const words = new Set(FUNCTION_WORDS)
  while (words.size < 3_000) {
    let word = ''
    for (let syllables = 1 + Math.floor(random() * 3); syllables > 0; syllables--)
      word += pick(SYLLABLES, random)
    words.add(word)
  }
  return [...words]
})()

/** Zipf-like frequencies: rank k is drawn with probability log((k + 1) / k), about 1/k. */
const word = (random: () => number) =>
  WORDS[Math.floor(Math.exp(random() * Math.log(WORDS.length))) - 1] as string

function sentence(random: () => number): string {
  const words = Array.from({ length: 6 + Math.floor(random() * 15) }, () => word(random))
  const first = words[0] as string
  words[0] = first.charAt(0).toUpperCase() + first.slice(1)
  return `${words.join(' ')}.`
}

function prose(random: () => number, words: number): string {
  const sentences: string[] = []
  for (let count = 0; count < words; ) {
    const next = sentence(random)
    sentences.push(next)
    count += next.split(' ').length
  }
  return sentences.join(' ')
}

/** Calibrated once so chunks come out near CHUNK_TOKENS; counting tokens on 100k chunks would take a minute. */
const TOKENS_PER_WORD = (() => {
  const sample = Array.from({ length: 40 }, (_, index) => prose(prng(seedOf(0, index)), 200))
  return countTokens(sample.join(' ')) / sample.join(' ').split(' ').length
})()
const WORDS_PER_CHUNK = Math.round(CHUNK_TOKENS / TOKENS_PER_WORD)

const chunkTextOf = (chunk: number) => prose(prng(seedOf(1, chunk)), WORDS_PER_CHUNK)

/** Gaussian components (Box-Muller), normalised: a uniformly random direction. */
function gaussian(random: () => number): Float32Array {
  const values = new Float32Array(DIMENSIONS)
  for (let index = 0; index < DIMENSIONS; index += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()))
    const angle = 2 * Math.PI * random()
    values[index] = radius * Math.cos(angle)
    values[index + 1] = radius * Math.sin(angle)
  }
  return values
}

function normalised(values: Float32Array): Float32Array {
  const norm = Math.hypot(...values)
  for (let index = 0; index < values.length; index++) values[index] = (values[index] as number) / norm
  return values
}

const chunkVector = (chunk: number) => normalised(gaussian(prng(seedOf(2, chunk))))

/** The stored vector plus noise of norm 0.5: cosine ~0.89 to its chunk, ~0 to every other. */
function queryVector(chunk: number): Float32Array {
  const vector = chunkVector(chunk)
  const noise = gaussian(prng(seedOf(3, chunk)))
  const scale = 0.5 / Math.sqrt(DIMENSIONS)
  for (let index = 0; index < DIMENSIONS; index++) {
    vector[index] = (vector[index] as number) + (noise[index] as number) * scale
  }
  return normalised(vector)
}

/** Two or three content words of the chunk's own text. */
function queryWords(chunk: number): string {
  const random = prng(seedOf(4, chunk))
  const words = [...new Set(chunkTextOf(chunk).toLowerCase().replaceAll('.', '').split(' '))].filter(
    (candidate) => !FUNCTION_WORDS.includes(candidate),
  )
  return Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(words, random)).join(' ')
}

function documentOf(id: string, firstChunk: number, count: number) {
  const chunks: StoredChunk[] = Array.from({ length: count }, (_, index) => {
    const text = chunkTextOf(firstChunk + index)
    return {
      id: `${id}:${index}`,
      documentId: id,
      index,
      text,
      textHash: textHash(text),
      tokenCount: Math.round(WORDS_PER_CHUNK * TOKENS_PER_WORD),
      vector: chunkVector(firstChunk + index),
    }
  })
  const document: StoredDocument = {
    id,
    title: `Document ${id}`,
    source: `bench://${id}`,
    metadata: {},
    textHash: textHash(id),
    chunkCount: count,
    createdAt: NOW,
    updatedAt: NOW,
  }
  return { document, chunks }
}

/** Markdown as people write it: headings, paragraphs, now and then a fenced code block. */
function markdownDocument(number: number): string {
  const random = prng(seedOf(6, number))
  const parts = [`# ${prose(random, 4).replace(/\.$/, '')}`]
  for (let section = 0; section < 8; section++) {
    parts.push(`## ${prose(random, 3).replace(/\.$/, '')}`)
    for (let paragraph = 2 + Math.floor(random() * 3); paragraph > 0; paragraph--) {
      parts.push(prose(random, 40 + Math.floor(random() * 120)))
    }
    if (random() < 0.3)
      parts.push(['```ts', ...Array.from({ length: 6 }, () => `// ${sentence(random)}`), '```'].join('\n'))
  }
  return parts.join('\n\n')
}

// --- measuring -------------------------------------------------------------------------------------

const timed = async (work: () => Promise<unknown>) => {
  const start = performance.now()
  await work()
  return performance.now() - start
}
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)
const mean = (values: number[]) => sum(values) / values.length
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
/** Nearest rank. */
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0
}
const megabytes = (bytes: number) => bytes / 2 ** 20

async function folderBytes(path: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name)
    total += entry.isDirectory() ? await folderBytes(child) : (await stat(child)).size
  }
  return total
}

function chunkerFigures() {
  const documents = Array.from({ length: 80 }, (_, index) => markdownDocument(index))
  chunkText(markdownDocument(-1), CHUNKING)
  const start = performance.now()
  const chunks = documents.flatMap((text) => chunkText(text, CHUNKING))
  const seconds = (performance.now() - start) / 1000
  const bytes = sum(documents.map((text) => Buffer.byteLength(text)))
  return {
    megabytes: megabytes(bytes),
    chunks: chunks.length,
    chunksPerSecond: chunks.length / seconds,
    megabytesPerSecond: megabytes(bytes) / seconds,
    averageTokens: mean(chunks.map((chunk) => chunk.tokenCount)),
  }
}

/** The 10k store, written through the public API: one document per upsert, then batched upserts. */
async function writeSmall(directory: string) {
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  await store.open(SPACE)
  const ids: string[] = []
  // Vectors and texts are made before the clock starts: only the store's work is timed.
  const write = async (id: string, count: number) => {
    const { document, chunks } = documentOf(id, ids.length, count)
    ids.push(...chunks.map((chunk) => chunk.id))
    return timed(() => store.upsert(document, chunks))
  }
  const perDocument: number[] = []
  for (let number = 0; number < PER_DOCUMENT_UPSERTS; number++) {
    perDocument.push(await write(`doc-${number}`, CHUNKS_PER_DOCUMENT))
  }
  // Under the vector index threshold: this is the full-text index and compaction only.
  const compactionMs = await timed(() => store.optimize())
  const afterCompaction: number[] = []
  for (let number = 0; number < AFTER_COMPACTION_UPSERTS; number++) {
    afterCompaction.push(await write(`doc-${PER_DOCUMENT_UPSERTS + number}`, CHUNKS_PER_DOCUMENT))
  }
  const batched: number[] = []
  for (let number = 0; ids.length < SMALL; number++)
    batched.push(await write(`batch-${number}`, BATCH_CHUNKS))
  await store.close()
  return { ids, perDocument, compactionMs, afterCompaction, batched }
}

const utf8 = (values: string[]) => arrow.vectorFromArray(values, new arrow.Utf8()).data[0] as Data
const int32 = (values: number[]) =>
  arrow.makeData({
    type: new arrow.Int32(),
    length: values.length,
    nullCount: 0,
    data: Int32Array.from(values),
  })

function arrowTable(schema: Schema, length: number, columns: Record<string, Data>) {
  const children = schema.fields.map((field) => {
    const column = columns[field.name]
    if (!column)
      throw new Error(`the bench does not fill column ${field.name}: update it to the store's schema`)
    return column
  })
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children })
  return new arrow.Table([new arrow.RecordBatch(schema, struct)])
}

/**
 * The 100k store: the store creates its tables, then rows in the store's own format are appended as
 * Arrow batches straight to LanceDB, 10k per commit (the store's upsert would take minutes to get there).
 * The append time is kept: it is what a batch API that skips row objects could reach.
 */
async function writeLarge(directory: string) {
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  await store.open(SPACE)
  await store.close()
  const connection = await lancedb.connect(directory)
  const chunkTable = await connection.openTable('chunks')
  const schema = await chunkTable.schema()
  const vectorType = schema.fields.find((field) => field.name === 'vector')?.type as DataType
  const ids: string[] = []
  let appendMs = 0
  for (let start = 0; start < LARGE; start += FIXTURE_BATCH) {
    const numbers = Array.from({ length: FIXTURE_BATCH }, (_, offset) => start + offset)
    const documentIds = numbers.map((chunk) => `doc-${Math.floor(chunk / CHUNKS_PER_DOCUMENT)}`)
    const batch = numbers.map((chunk, offset) => documentOf(documentIds[offset] as string, chunk, 1))
    const flat = new Float32Array(FIXTURE_BATCH * DIMENSIONS)
    for (const [offset, { chunks }] of batch.entries())
      flat.set(chunks[0]?.vector as Float32Array, offset * DIMENSIONS)
    const chunkIds = numbers.map((chunk, offset) => `${documentIds[offset]}:${chunk % CHUNKS_PER_DOCUMENT}`)
    ids.push(...chunkIds)
    const text = batch.map(({ chunks }) => chunks[0]?.text as string)
    const table = arrowTable(schema, FIXTURE_BATCH, {
      id: utf8(chunkIds),
      document_id: utf8(documentIds),
      idx: int32(numbers.map((chunk) => chunk % CHUNKS_PER_DOCUMENT)),
      text: utf8(text),
      text_hash: utf8(batch.map(({ chunks }) => chunks[0]?.textHash as string)),
      token_count: int32(batch.map(({ chunks }) => chunks[0]?.tokenCount as number)),
      title: utf8(documentIds.map((id) => `Document ${id}`)),
      source: utf8(documentIds.map((id) => `bench://${id}`)),
      metadata: utf8(numbers.map(() => '{}')),
      metadata_terms: utf8(numbers.map(() => '')),
      vector: arrow.makeData({
        type: vectorType,
        length: FIXTURE_BATCH,
        nullCount: 0,
        child: arrow.makeData({ type: new arrow.Float32(), length: flat.length, nullCount: 0, data: flat }),
      } as never),
    })
    appendMs += await timed(() => chunkTable.add(table))
  }
  const documentTable = await connection.openTable('documents')
  const documentIds = Array.from({ length: LARGE / CHUNKS_PER_DOCUMENT }, (_, number) => `doc-${number}`)
  await documentTable.add(
    arrowTable(await documentTable.schema(), documentIds.length, {
      id: utf8(documentIds),
      title: utf8(documentIds.map((id) => `Document ${id}`)),
      source: utf8(documentIds.map((id) => `bench://${id}`)),
      metadata: utf8(documentIds.map(() => '{}')),
      text_hash: utf8(documentIds.map(textHash)),
      chunk_count: int32(documentIds.map(() => CHUNKS_PER_DOCUMENT)),
      created_at: utf8(documentIds.map(() => NOW)),
      updated_at: utf8(documentIds.map(() => NOW)),
    }),
  )
  documentTable.close()
  chunkTable.close()
  connection.close()
  await checkFixture(directory)
  return { ids, appendMs }
}

/** The store must read the appended rows back as its own, or the fixture drifted from its format. */
async function checkFixture(directory: string) {
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  await store.open(SPACE)
  const chunks = await store.chunks('doc-1')
  const document = await store.get('doc-1')
  await store.close()
  const expected = documentOf('doc-1', CHUNKS_PER_DOCUMENT, 1).chunks[0]
  if (chunks.length !== CHUNKS_PER_DOCUMENT || chunks[0]?.text !== expected?.text || !document) {
    throw new Error('the 100k fixture does not read back through the store')
  }
}

/** optimize() as the server runs it; at 100k the IVF_PQ index is built first with lighter parameters. */
async function buildIndexes(directory: string, size: number) {
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  await store.open(SPACE)
  const connection = await lancedb.connect(directory)
  const table = await connection.openTable('chunks')
  let vectorIndexMs = 0
  if (size === LARGE && !DEFAULT_INDEX_AT_LARGE) {
    const config = lancedb.Index.ivfPq({ distanceType: 'cosine', ...LARGE_INDEX })
    vectorIndexMs = await timed(() => table.createIndex('vector', { config }))
  }
  const optimizeMs = await timed(() => store.optimize())
  const indices = await table.listIndices()
  if (!indices.some((index) => index.columns.includes('vector'))) throw new Error('no vector index was built')
  table.close()
  connection.close()
  await store.close()
  return { vectorIndexMs, optimizeMs }
}

/** Returns the precomputed vector of each query text, so retrieve() runs without a model. */
class PrecomputedEmbedder implements Embedder {
  readonly space = SPACE
  constructor(private readonly vectors: Map<string, Float32Array>) {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((text) => this.vectors.get(text) as Float32Array)
  }
}

async function queryFigures(directory: string, ids: string[], size: number) {
  const beforeOpen = process.memoryUsage()
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  const openMs = await timed(() => store.open(SPACE))
  const afterOpen = process.memoryUsage()
  const random = prng(seedOf(5, size))
  const queries = Array.from({ length: WARMUP + QUERIES }, () => {
    const chunk = Math.floor(random() * size)
    return { id: ids[chunk] as string, vector: queryVector(chunk), words: queryWords(chunk) }
  })
  const embeddings = new EmbeddingCache(
    new PrecomputedEmbedder(new Map(queries.map((query) => [query.words, query.vector]))),
    { capacity: 0 },
  )
  const call = { signal: new AbortController().signal, requestId: 'bench-rag' }
  const kinds = {
    vector: (query: (typeof queries)[number]) => store.searchVector(query.vector, { topK: TOP_K }),
    keyword: (query: (typeof queries)[number]) => store.searchKeyword(query.words, { topK: TOP_K }),
    hybrid: (query: (typeof queries)[number]) =>
      retrieve(store, embeddings, query.words, { topK: TOP_K }, call),
  }
  const latencies = { vector: [] as number[], keyword: [] as number[], hybrid: [] as number[] }
  const found = { vector: 0, keyword: 0, hybrid: 0, vectorFirst: 0 }
  let rssBeforeLoop = 0
  // Kinds alternate query by query, so a noisy moment on the machine hits all three alike.
  for (const [position, query] of queries.entries()) {
    if (position === WARMUP) rssBeforeLoop = process.memoryUsage().rss
    for (const kind of ['vector', 'keyword', 'hybrid'] as const) {
      const start = performance.now()
      const hits = await kinds[kind](query)
      const elapsed = performance.now() - start
      if (position < WARMUP) continue
      latencies[kind].push(elapsed)
      if (hits.some((hit) => hit.chunk.id === query.id)) found[kind]++
      if (kind === 'vector' && hits[0]?.chunk.id === query.id) found.vectorFirst++
    }
  }
  const rssAfterLoop = process.memoryUsage().rss
  await store.close()
  const summary = (values: number[]) => ({ p50: percentile(values, 0.5), p99: percentile(values, 0.99) })
  return {
    openMs,
    rssBeforeOpen: beforeOpen.rss,
    rssAfterOpen: afterOpen.rss,
    heapAfterOpen: afterOpen.heapUsed,
    rssBeforeLoop,
    rssAfterLoop,
    vector: summary(latencies.vector),
    keyword: summary(latencies.keyword),
    hybrid: summary(latencies.hybrid),
    found,
  }
}

async function coldOpen(directory: string, ids: string[]) {
  const chunk = 4_242
  const input = JSON.stringify({
    directory,
    space: SPACE,
    vector: [...queryVector(chunk)],
    keywords: queryWords(chunk),
    id: ids[chunk],
  })
  const runs: Record<string, number>[] = []
  for (let run = 0; run < COLD_OPENS; run++) {
    const start = performance.now()
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./rag-cold-open.ts', import.meta.url).pathname, input],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let output = ''
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString()
    })
    const [code] = (await once(child, 'exit')) as [number]
    if (code !== 0) throw new Error(`the cold-open process exited with ${code}`)
    runs.push({ ...(JSON.parse(output) as Record<string, number>), processMs: performance.now() - start })
  }
  const fields = Object.keys(runs[0] ?? {})
  return Object.fromEntries(fields.map((field) => [field, median(runs.map((run) => run[field] ?? 0))]))
}

// --- the run ---------------------------------------------------------------------------------------

const runStart = performance.now()
const loadAtStart = loadavg()[0] ?? 0
const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown'
const lancedbVersion = (
  JSON.parse(
    await readFile(new URL('../node_modules/@lancedb/lancedb/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version
const root = await mkdtemp(join(tmpdir(), 'bench-rag-'))
const smallDirectory = join(root, 'small')
const largeDirectory = join(root, 'large')

const step = (label: string) =>
  console.error(`[${((performance.now() - runStart) / 1000).toFixed(0).padStart(4)} s] ${label}`)
let report: Awaited<ReturnType<typeof measure>>
try {
  report = await measure()
} finally {
  await rm(root, { recursive: true, force: true })
}

async function measure() {
  step('chunker')
  const chunker = chunkerFigures()
  step(`10k: ${PER_DOCUMENT_UPSERTS} per-document upserts, then batched upserts`)
  const writes = await writeSmall(smallDirectory)
  step('10k: optimize() (IVF_PQ with defaults, full-text, compaction)')
  const smallIndex = await buildIndexes(smallDirectory, SMALL)
  step('10k: queries')
  const smallQueries = await queryFigures(smallDirectory, writes.ids, SMALL)
  const smallBytes = await folderBytes(smallDirectory)
  step('100k: appending the fixture')
  const large = await writeLarge(largeDirectory)
  step(`100k: IVF_PQ ${DEFAULT_INDEX_AT_LARGE ? 'with defaults' : JSON.stringify(LARGE_INDEX)}, optimize()`)
  const largeIndex = await buildIndexes(largeDirectory, LARGE)
  step('100k: queries')
  const largeQueries = await queryFigures(largeDirectory, large.ids, LARGE)
  const largeBytes = await folderBytes(largeDirectory)
  step(`100k: cold open in ${COLD_OPENS} fresh processes`)
  const cold = await coldOpen(largeDirectory, large.ids)
  return {
    chunker,
    writes,
    large,
    sizes: [
      { chunks: SMALL, index: smallIndex, queries: smallQueries, bytes: smallBytes },
      { chunks: LARGE, index: largeIndex, queries: largeQueries, bytes: largeBytes },
    ],
    cold,
  }
}

// --- the report ------------------------------------------------------------------------------------

const format = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (value: number) => `${format(value, value < 10 ? 2 : value < 100 ? 1 : 0)} ms`
const mb = (bytes: number) => `${format(megabytes(bytes))} MB`
const rate = (chunks: number, milliseconds: number) => chunks / (milliseconds / 1000)
const share = (count: number) => `${format((100 * count) / QUERIES)}%`

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column]?.length ?? 0)),
  )
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

const { chunker, writes, large, sizes, cold } = report
const wallMs = performance.now() - runStart
const perDocumentRate = rate(PER_DOCUMENT_UPSERTS * CHUNKS_PER_DOCUMENT, sum(writes.perDocument))
const writeRows = [
  {
    path: `upsert(), one ${CHUNKS_PER_DOCUMENT}-chunk document per call`,
    chunks: PER_DOCUMENT_UPSERTS * CHUNKS_PER_DOCUMENT,
    time: sum(writes.perDocument),
    perCall: `${ms(mean(writes.perDocument.slice(0, 50)))} (docs 1-50), ${ms(mean(writes.perDocument.slice(-50)))} (docs ${PER_DOCUMENT_UPSERTS - 49}-${PER_DOCUMENT_UPSERTS})`,
  },
  {
    path: 'the same, after optimize() compacted',
    chunks: AFTER_COMPACTION_UPSERTS * CHUNKS_PER_DOCUMENT,
    time: sum(writes.afterCompaction),
    perCall: ms(mean(writes.afterCompaction)),
  },
  {
    path: `upsert(), one ${format(BATCH_CHUNKS)}-chunk document per call (batched)`,
    chunks: writes.batched.length * BATCH_CHUNKS,
    time: sum(writes.batched),
    perCall: ms(mean(writes.batched)),
  },
  {
    path: `raw LanceDB add(), Arrow batches of ${format(FIXTURE_BATCH)} (not the store API)`,
    chunks: LARGE,
    time: large.appendMs,
    perCall: ms(large.appendMs / (LARGE / FIXTURE_BATCH)),
  },
]
const writesTable = table(
  ['write path (precomputed vectors)', 'chunks', 'chunks/s', 'vs per-document', 'per call'],
  writeRows.map((row) => [
    row.path,
    format(row.chunks),
    format(rate(row.chunks, row.time)),
    `${format(rate(row.chunks, row.time) / perDocumentRate, 2)}x`,
    row.perCall,
  ]),
)
const chunkerTable = table(
  ['chunker (maxTokens 300, overlap 60)', 'input', 'chunks', 'chunks/s', 'MB/s', 'tokens per chunk'],
  [
    [
      `80 Markdown documents`,
      `${format(chunker.megabytes, 2)} MB`,
      format(chunker.chunks),
      format(chunker.chunksPerSecond),
      format(chunker.megabytesPerSecond, 2),
      format(chunker.averageTokens),
    ],
  ],
)
const pair = (figures: { p50: number; p99: number }) => `${ms(figures.p50)} / ${ms(figures.p99)}`
const indexCell = (size: (typeof sizes)[number]) =>
  size.index.vectorIndexMs > 0
    ? `${ms(size.index.vectorIndexMs)} IVF_PQ (lighter) + ${ms(size.index.optimizeMs)} optimize()`
    : `${ms(size.index.optimizeMs)} optimize() (IVF_PQ defaults)`
const queriesTable = table(
  [
    'chunks',
    'index build',
    'vector p50 / p99',
    'keyword p50 / p99',
    'hybrid p50 / p99',
    'source chunk found',
  ],
  sizes.map((size) => [
    format(size.chunks),
    indexCell(size),
    pair(size.queries.vector),
    pair(size.queries.keyword),
    pair(size.queries.hybrid),
    `vector ${share(size.queries.found.vectorFirst)} first, keyword ${share(size.queries.found.keyword)}, hybrid ${share(size.queries.found.hybrid)}`,
  ]),
)
const rawVectorBytes = (chunks: number) => chunks * DIMENSIONS * 4
const memoryTable = table(
  [
    'chunks',
    'open()',
    'RSS after open',
    'heap used after open',
    'RSS growth, query loop',
    'on disk',
    'disk / raw vectors',
  ],
  sizes.map((size) => [
    format(size.chunks),
    ms(size.queries.openMs),
    `${mb(size.queries.rssAfterOpen)} (${format(megabytes(size.queries.rssAfterOpen - size.queries.rssBeforeOpen), 1)} MB by open)`,
    mb(size.queries.heapAfterOpen),
    `${format(megabytes(size.queries.rssAfterLoop - size.queries.rssBeforeLoop), 1)} MB`,
    mb(size.bytes),
    `${format(size.bytes / rawVectorBytes(size.chunks), 2)}x`,
  ]),
)
const coldTable = table(
  [
    'import store module',
    'open()',
    'first vector query',
    'first keyword query',
    'second vector query',
    'spawn to exit',
  ],
  [
    [
      ms(cold.importMs ?? 0),
      ms(cold.openMs ?? 0),
      ms(cold.firstVectorMs ?? 0),
      ms(cold.firstKeywordMs ?? 0),
      ms(cold.secondVectorMs ?? 0),
      ms(cold.processMs ?? 0),
    ],
  ],
)
const machine =
  `${availableParallelism()} cores (${cpu}), ${format(totalmem() / 2 ** 30)} GB, Node ${process.versions.node}, ` +
  `@lancedb/lancedb ${lancedbVersion}, LANCE_CPU_THREADS=${process.env.LANCE_CPU_THREADS}; load average ` +
  `${format(loadAtStart, 1)} at start, ${format(loadavg()[0] ?? 0, 1)} at end; the whole run took ` +
  `${format(wallMs / 60_000, 1)} min`
const tables = [writesTable, chunkerTable, queriesTable, memoryTable, coldTable].join('\n\n')
console.log(`\n${machine}\n\n${tables}\n`)

const section = `${SECTION}

\`npm run bench:rag\`: the LanceDB store (\`src/rag/stores/lancedb.ts\`) through its public API, on a
synthetic corpus made with a seeded PRNG: chunks of ~${CHUNK_TOKENS} tokens (${WORDS_PER_CHUNK} words of
sentences over a ${format(WORDS.length)}-word vocabulary with Zipf-like frequencies), random 1536-d unit
vectors, documents of ${CHUNKS_PER_DOCUMENT} chunks. Embedding is never timed: vectors are made before the clock
starts. The 10k store is written with \`upsert()\` (the write figures below); the 100k store is appended as
Arrow batches in the store's row format, then read back through the store as a check. Both then run
\`optimize()\`. Queries: ${QUERIES} timed after ${WARMUP} warm-up, each aimed at a random stored chunk: its vector plus
noise (cosine ~0.89), and 2-3 words of its text; vector and keyword search ask for the top ${TOP_K}, hybrid is
\`retrieve()\` (top ${TOP_K}, fused from 20 candidates per ranking) with an embedder that returns the
precomputed vector. The three kinds alternate query by query. Latencies are absolute (nearest-rank
percentiles); write figures also carry their ratio to the per-document path of the same run.

Run of ${new Date().toISOString().slice(0, 10)}: ${machine}.

${tables}
`
const path = new URL('../BENCHMARKS.md', import.meta.url)
const current = await readFile(path, 'utf8')
const start = current.indexOf(`\n${SECTION}\n`)
const end = start === -1 ? -1 : current.indexOf('\n## ', start + SECTION.length + 1)
const next =
  start === -1
    ? `${current.trimEnd()}\n\n${section}`
    : `${current.slice(0, start + 1)}${section}${end === -1 ? '' : `\n${current.slice(end + 1)}`}`
await writeFile(path, next)
