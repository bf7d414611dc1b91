/**
 * The JSON body parser alone (src/plugins/json-body-parser.ts), before and after it took the body as
 * bytes and checked UTF-8: what Fastify's rawBody and the parser do between the last chunk and the
 * parsed body. Before: the chunks decoded to a string (rawBody's `toString('utf8')`), then parsed.
 * After: the chunks concatenated, checked with `isUtf8`, then parsed from the Buffer. Rounds alternate
 * the two; the figure is the median over rounds of after/before.
 *
 *   npx tsx bench/json-body-parser.ts [rounds, default 15]
 */
import Fastify, { type FastifyBodyParser, type FastifyRequest } from 'fastify'
import { jsonBodyParser } from '../src/plugins/json-body-parser.js'

const ROUNDS = Number(process.argv[2] ?? 15)
// Each round parses about this many bytes per case, so small and large bodies get comparable time.
const BYTES_PER_ROUND = 32 * 1024 * 1024
const CHUNK_BYTES = 64 * 1024

const defaultParser = Fastify().getDefaultJsonParser('error', 'error')
const before = defaultParser as unknown as FastifyBodyParser<string>
const after = jsonBodyParser(defaultParser as unknown as FastifyBodyParser<Buffer>)
const request = {} as FastifyRequest
const app = Fastify()

const chat = (content: string, messages = 1) =>
  JSON.stringify({ messages: Array.from({ length: messages }, () => ({ role: 'user', content })) })
const cases: [string, string][] = [
  ['/chat, one short message (70 B)', chat('Say hello in French.')],
  ['/chat, 20 messages of 500 ASCII characters (10 KB)', chat('word '.repeat(100), 20)],
  ['/safe, a 100,000-character prompt (100 KB)', JSON.stringify({ prompt: 'word '.repeat(20_000) })],
  [
    '/safe, a prompt of 100,000 mixed characters (~190 KB)',
    JSON.stringify({ prompt: 'café 日本語 🥖 '.repeat(8_334) }),
  ],
  ['/chat, 1 MiB of messages', chat('word '.repeat(2_000), 100)],
]

function chunksOf(body: string): Buffer[] {
  const bytes = Buffer.from(body)
  const chunks: Buffer[] = []
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES)
    chunks.push(bytes.subarray(start, start + CHUNK_BYTES))
  return chunks
}

function time(iterations: number, parseOnce: () => void): number {
  const started = process.hrtime.bigint()
  for (let index = 0; index < iterations; index++) parseOnce()
  return Number(process.hrtime.bigint() - started) / iterations
}

let sink: unknown
const done = (error: Error | null, body?: unknown) => {
  if (error) throw error
  sink = body
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

console.log(
  `Node ${process.version}, ${ROUNDS} rounds, ${BYTES_PER_ROUND / 1048576} MiB parsed per case and round\n`,
)
console.log('| body | before (string) | after (bytes + isUtf8) | after / before |')
console.log('|---|---|---|---|')
for (const [name, body] of cases) {
  const chunks = chunksOf(body)
  const length = Buffer.byteLength(body)
  const iterations = Math.max(20, Math.round(BYTES_PER_ROUND / length))
  const runBefore = () => before.call(app, request, Buffer.concat(chunks, length).toString('utf8'), done)
  const runAfter = () => after.call(app, request, Buffer.concat(chunks, length), done)
  runBefore()
  runAfter()
  const beforeNs: number[] = []
  const afterNs: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const [first, second] = round % 2 === 0 ? [runBefore, runAfter] : [runAfter, runBefore]
    const firstNs = time(iterations, first)
    const secondNs = time(iterations, second)
    const [b, a] = round % 2 === 0 ? [firstNs, secondNs] : [secondNs, firstNs]
    beforeNs.push(b)
    afterNs.push(a)
    ratios.push(a / b)
  }
  const micro = (ns: number) => `${(ns / 1000).toFixed(ns < 10_000 ? 2 : 0)} µs`
  console.log(
    `| ${name} | ${micro(median(beforeNs))} | ${micro(median(afterNs))} | ${median(ratios).toFixed(3)} |`,
  )
}
if (sink === undefined) throw new Error('nothing was parsed')
