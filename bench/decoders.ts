/**
 * The upstream wire decoders (Ollama's NDJSON lines, the Responses API's SSE events) on hostile and on
 * ordinary input: CPU time to push every chunk through, in this process, one case at a time. Hostile
 * cases are what an upstream (or anything between it and us) can send: one line that never ends, and
 * many tiny lines of a field nobody reads. The decoders' own byte bound is lifted to BOUND so they decode
 * everything (the bound is what stops such input in the server; this measures the work before it).
 *
 *   npx tsx bench/decoders.ts [megabytes, default 50]
 *
 * A case that passes STOP_AFTER_S of CPU stops there and reports how far it got. Figures go to
 * BENCHMARKS.md ("Upstream decoders") by hand, with the commit they were measured on.
 */
import { readFileSync } from 'node:fs'
import { cpuUsage } from 'node:process'
import { LineDecoder } from '../src/providers/line-decoder.js'
import { ResponseEventDecoder } from '../src/providers/responses-events.js'

const MEGABYTES = Number(process.argv[2] ?? 50)
const TOTAL = MEGABYTES * 1_000_000
const BOUND = 2 * TOTAL + 1_048_576
const STOP_AFTER_S = 30

interface Decoder {
  push(chunk: Uint8Array): unknown[]
}

// The decoders before this bench's commit took no bound: the extra argument is ignored there.
const Lines = LineDecoder as unknown as new (maxLineBytes: number) => Decoder
const Events = ResponseEventDecoder as unknown as new (maxEventBytes: number) => Decoder

const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url))

/** Chunks of `size` bytes cut from `unit` repeated, `total` bytes in all, after `head`. */
function* repeated(head: string, unit: string, size: number, total: number): Generator<Buffer> {
  yield Buffer.from(head)
  const chunk = Buffer.from(unit.repeat(Math.ceil(size / unit.length)).slice(0, size))
  for (let sent = 0; sent < total; sent += chunk.length) yield chunk
}

/** The recorded stream's events (or lines), one per chunk, as an upstream sends them, `times` over. */
function* recorded(parts: Buffer[], times: number): Generator<Buffer> {
  for (let round = 0; round < times; round++) yield* parts
}

function measure(name: string, decoder: Decoder, chunks: Iterable<Buffer>, unit: 'MB' | 'item') {
  globalThis.gc?.()
  const started = cpuUsage()
  let bytes = 0
  let items = 0
  let stopped = false
  for (const chunk of chunks) {
    items += decoder.push(chunk).length
    bytes += chunk.length
    const spent = cpuUsage(started)
    if ((spent.user + spent.system) / 1e6 > STOP_AFTER_S) {
      stopped = true
      break
    }
  }
  const spent = cpuUsage(started)
  const seconds = (spent.user + spent.system) / 1e6
  const figure =
    unit === 'MB'
      ? `${(seconds * 1000).toFixed(0)} ms CPU for ${(bytes / 1e6).toFixed(1)} MB${stopped ? ` (stopped: over ${STOP_AFTER_S} s)` : ''}`
      : `${((seconds * 1e6) / items).toFixed(2)} µs CPU per item (${items} items)`
  console.log(`| ${name} | ${figure} |`)
}

const sseParts = readFileSync(
  new URL('../test/fixtures/openai-responses-stream.sse', import.meta.url),
  'utf8',
)
  .split('\n\n')
  .filter((block) => block.trim() !== '')
  .map((block) => Buffer.from(`${block}\n\n`))
const ndjsonParts = fixture('ollama-generate-stream.ndjson')
  .toString('utf8')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => Buffer.from(`${line}\n`))

console.log(`Node ${process.version}; ${MEGABYTES} MB per hostile case\n`)
console.log('| case | figure |\n|---|---|')
const KiB16 = 16_384
const KiB64 = 65_536
/** The hostile cases: a name, the decoder, the text before the flood, the unit repeated, the chunk size. */
const HOSTILE: [string, () => Decoder, string, string, number][] = [
  [
    'NDJSON: one line without its newline, 16 KiB chunks',
    () => new Lines(BOUND),
    '{"response":"',
    'a',
    KiB16,
  ],
  [
    'SSE: one data line without its end, 16 KiB chunks',
    () => new Events(BOUND),
    'event: response.output_text.delta\ndata: {"delta":"',
    'a',
    KiB16,
  ],
  ['SSE: lines `x:` ending in LF, no blank line, 64 KiB chunks', () => new Events(BOUND), '', 'x:\n', KiB64],
  ['SSE: lines `x:` ending in CR, no blank line, 64 KiB chunks', () => new Events(BOUND), '', 'x:\r', KiB64],
  ['SSE: comments ending in CR, 64 KiB chunks', () => new Events(BOUND), '', ':\r', KiB64],
]
for (const [name, decoder, head, unit, size] of HOSTILE) {
  measure(name, decoder(), repeated(head, unit, size, TOTAL), 'MB')
}
measure(
  'NDJSON: the recorded /api/generate stream, a line per chunk',
  new Lines(BOUND),
  recorded(ndjsonParts, 20_000),
  'item',
)
measure(
  'SSE: the recorded Responses stream, an event per chunk',
  new Events(BOUND),
  recorded(sseParts, 20_000),
  'item',
)
