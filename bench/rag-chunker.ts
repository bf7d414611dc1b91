/**
 * The chunker alone on real documentation: node_modules/fastify/docs (41 Markdown files), chunked as
 * ingestion does (400 tokens, overlap 60), RAG_CHUNKER_ROUNDS times (default 15) after a warm-up pass.
 * On a shared machine wall time says more about the neighbours than the code, so the figure is the best
 * round by CPU time. RAG_CHUNKER_BASELINE=<file> also loads another chunker module (e.g. main's:
 * `git show main:src/rag/chunker.ts > .scratch/chunker-main.ts`) and alternates the two round by round,
 * so both see the same load. `npm run bench:rag-chunker`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type ChunkingOptions, chunkText, type TextChunk } from '../src/rag/chunker.js'

type Chunk = (text: string, options: ChunkingOptions) => TextChunk[]

const DOCS = new URL('../node_modules/fastify/docs', import.meta.url).pathname
const CHUNKING = { maxTokens: 400, overlapTokens: 60 }
const rounds = Number(process.env.RAG_CHUNKER_ROUNDS ?? 15)
const baseline = process.env.RAG_CHUNKER_BASELINE

const chunkers: [string, Chunk][] = [['this tree', chunkText]]
if (baseline) chunkers.push([baseline, (await import(resolve(baseline))).chunkText as Chunk])

const files: string[] = []
for (const entry of await readdir(DOCS, { recursive: true })) {
  if (entry.endsWith('.md')) files.push(await readFile(join(DOCS, entry), 'utf8'))
}
const megabytes = files.reduce((total, text) => total + Buffer.byteLength(text), 0) / 2 ** 20
for (const [, chunk] of chunkers) for (const text of files) chunk(text, CHUNKING)

const best = new Map<string, { cpu: number; chunks: number }>()
for (let round = 0; round < rounds; round++) {
  for (const [name, chunk] of chunkers) {
    const cpu = process.cpuUsage()
    const chunks = files.reduce((total, text) => total + chunk(text, CHUNKING).length, 0)
    const { user, system } = process.cpuUsage(cpu)
    const seconds = (user + system) / 1e6
    if (seconds < (best.get(name)?.cpu ?? Number.POSITIVE_INFINITY)) best.set(name, { cpu: seconds, chunks })
  }
}
console.log('| chunker | input | chunks | best CPU time | chunks per CPU-second | MB per CPU-second |')
console.log('|---|---|---|---|---|---|')
for (const [name, { cpu, chunks }] of best) {
  const perSecond = Math.round(chunks / cpu).toLocaleString('en-US')
  console.log(
    `| ${name} | ${files.length} files, ${megabytes.toFixed(2)} MB | ${chunks} | ${(cpu * 1000).toFixed(0)} ms | ${perSecond} | ${(megabytes / cpu).toFixed(2)} |`,
  )
}
