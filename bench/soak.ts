/**
 * Soak: the built gateway in its own process under mixed load for SOAK_SECONDS (default 600), against
 * bench/fake-upstream.ts, sampling its RSS (/proc/<pid>/status) and event-loop delay
 * (bench/event-loop-probe.mjs) and its live heap (after a forced collection) every SAMPLE_SECONDS.
 * Prints a table and a verdict on memory growth: the median RSS and live heap of the last minute
 * against those of the second (the first is warm-up), and the RSS of the middle minute to tell a
 * plateau from a climb. Not run in CI: it measures memory over time, not speed, so a noisy machine
 * does not spoil it.
 *
 *   npm run soak                       # 10 minutes
 *   SOAK_SECONDS=120 npm run soak      # a quick look
 *
 * The mix, paced to SOAK_RPS requests per second over CONCURRENCY clients: /chat, /safe, /stream and
 * /local-stream read to the end; streams the client abandons after the first chunk; invalid bodies
 * (malformed JSON, bytes that are not UTF-8, a blank prompt, a body over the limit); 404s and 405s.
 * Every answer is counted by status; any 5xx (the upstream is healthy) is reported as a defect.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { LOAD_CPU } from './load.js'
import { freePort, startNode } from './processes.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? 10)
const RPS = Number(process.env.SOAK_RPS ?? 200)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
/** A directory to write heap snapshots to (after the second minute and at the end), to find a leak. */
const SNAPSHOTS = process.env.SOAK_HEAP_SNAPSHOTS
/** Growth of the last minute's median RSS (or live heap) over the second minute's that counts as flat. */
const FLAT_GROWTH = 0.1
/** Growth of the last minute's median RSS over the middle minute's that counts as levelled off. */
const LEVEL_GROWTH = 0.03

console.log('building the server (npm run build)...')
execFileSync('npm', ['run', 'build'], { stdio: 'ignore' })
// A 20-delta stream dripping 10 ms apart: long enough for a client to leave in the middle.
const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: LOAD_CPU,
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '10' },
})
const gateway = await startNode(
  'gateway',
  // --expose-gc and PROBE_GC: the probe collects before it reads the heap, so heapUsed is what is alive.
  [
    '--max-semi-space-size=32',
    '--expose-gc',
    ...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR1', `--diagnostic-dir=${SNAPSHOTS}`] : []),
    '--import',
    './bench/event-loop-probe.mjs',
    'dist/server.js',
  ],
  {
    cpu: '0',
    port: await freePort(),
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      OPENAI_API_KEY: 'sk-soak-not-a-real-key',
      OPENAI_BASE_URL: `${fake.url}/v1`,
      OLLAMA_HOST: fake.url,
      RAG_DATA_DIR: '/tmp/soak-rag-data',
      PROBE_GC: '1',
      // One client at SOAK_RPS: the per-client limits count every request (their memory is soaked too)
      // but are set too high to refuse any, so the mix of answers stays the one the soak asks for.
      RATE_LIMIT_MAX: '1000000000',
      STREAMS_PER_CLIENT: '1000000',
    },
  },
)
const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 })

const json = { 'content-type': 'application/json' }
interface Scenario {
  name: string
  method: 'GET' | 'POST' | 'PUT'
  path: string
  body?: string | Buffer
  headers?: Record<string, string>
  /** Leave after the first chunk of the answer. */
  abort?: boolean
}
const prompt = JSON.stringify({ prompt: 'Tell me a joke' })
const SCENARIOS: [Scenario, number][] = [
  [
    {
      name: 'chat',
      method: 'POST',
      path: '/chat',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }] }),
      headers: json,
    },
    4,
  ],
  [{ name: 'safe', method: 'POST', path: '/safe?prompt=Tell%20me%20a%20joke' }, 3],
  [{ name: 'stream', method: 'POST', path: '/stream', body: prompt, headers: json }, 3],
  [{ name: 'local-stream', method: 'POST', path: '/local-stream', body: prompt, headers: json }, 2],
  [
    {
      name: 'stream, client leaves',
      method: 'POST',
      path: '/stream',
      body: prompt,
      headers: json,
      abort: true,
    },
    2,
  ],
  [
    {
      name: 'local-stream, client leaves',
      method: 'POST',
      path: '/local-stream',
      body: prompt,
      headers: json,
      abort: true,
    },
    1,
  ],
  [{ name: 'malformed JSON', method: 'POST', path: '/chat', body: '{"messages": [', headers: json }, 1],
  [
    {
      name: 'not UTF-8',
      method: 'POST',
      path: '/safe',
      body: Buffer.from([0x7b, 0x22, 0x70, 0xff, 0x22, 0x7d]),
      headers: json,
    },
    1,
  ],
  [
    {
      name: 'blank prompt',
      method: 'POST',
      path: '/safe',
      body: JSON.stringify({ prompt: '   ' }),
      headers: json,
    },
    1,
  ],
  [
    {
      name: 'body over the limit',
      method: 'POST',
      path: '/chat',
      body: Buffer.alloc(1_100_000, 0x20),
      headers: json,
    },
    1,
  ],
  [{ name: '404', method: 'GET', path: '/nowhere' }, 1],
  [{ name: '405', method: 'PUT', path: '/chat' }, 1],
]
const deck = SCENARIOS.flatMap(([scenario, weight]) => Array<Scenario>(weight).fill(scenario))

const statuses = new Map<string, number>()
let failures = 0
let completed = 0
const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1)

async function once(scenario: Scenario): Promise<void> {
  const controller = new AbortController()
  try {
    const response = await request(`${gateway.url}${scenario.path}`, {
      method: scenario.method,
      headers: scenario.headers,
      body: scenario.body,
      dispatcher: agent,
      signal: controller.signal,
    })
    count(`${response.statusCode} ${scenario.name}`)
    if (scenario.abort) {
      for await (const _chunk of response.body) break
      controller.abort()
    } else {
      for await (const _chunk of response.body) {
        // read to the end
      }
    }
    completed++
  } catch (error) {
    if (!(scenario.abort && controller.signal.aborted)) {
      failures++
      count(`error ${scenario.name}: ${(error as Error).message}`)
    } else completed++
  }
}

const started = performance.now()
const deadline = started + SECONDS * 1000
const interval = (CONCURRENCY / RPS) * 1000
async function client(index: number) {
  for (let turn = index; performance.now() < deadline; turn += CONCURRENCY) {
    const began = performance.now()
    await once(deck[turn % deck.length] as Scenario)
    await sleep(Math.max(0, interval - (performance.now() - began)))
  }
}

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1)

function rssMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return kib / 1024
}

interface Sample {
  second: number
  rss: number
  heapUsed: number
  external: number
  p50: number
  p99: number
  max: number
  requests: number
}
const samples: Sample[] = []
async function sampler() {
  let last = 0
  let snapshotTaken = false
  while (performance.now() < deadline) {
    await sleep(SAMPLE_SECONDS * 1000)
    if (SNAPSHOTS && !snapshotTaken && performance.now() - started > 120_000) {
      snapshotTaken = true
      gateway.child.kill('SIGUSR1')
    }
    const loop = await gateway.probe()
    const sample = {
      second: Math.round((performance.now() - started) / 1000),
      ...loop,
      rss: rssMiB(gateway.child.pid as number),
      requests: completed - last,
    }
    last = completed
    samples.push(sample)
    console.log(
      `| ${sample.second} | ${sample.rss.toFixed(1)} | ${mib(sample.heapUsed)} | ${mib(sample.external)} | ${sample.p50.toFixed(1)} / ${sample.p99.toFixed(1)} / ${sample.max.toFixed(1)} | ${(sample.requests / SAMPLE_SECONDS).toFixed(0)} |`,
    )
  }
}

console.log(
  `soak: ${SECONDS} s, ${RPS} requests/s over ${CONCURRENCY} clients, a sample every ${SAMPLE_SECONDS} s\n`,
)
console.log(
  '| s | RSS MiB | live heap MiB | external MiB | event-loop delay p50 / p99 / max ms | requests/s |',
)
console.log('|---|---|---|---|---|---|')
await Promise.all([sampler(), ...Array.from({ length: CONCURRENCY }, (_, index) => client(index))])
if (SNAPSHOTS) {
  gateway.child.kill('SIGUSR1')
  await sleep(15_000)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
// The first minute is warm-up; with a short run, compare its second third with its last third.
const window = SECONDS >= 180 ? 60 : SECONDS / 3
const inWindow = (from: number, to: number, value: (sample: Sample) => number) =>
  samples.filter((sample) => sample.second > from && sample.second <= to).map(value)
const second = (value: (sample: Sample) => number) => median(inWindow(window, 2 * window, value))
const last = (value: (sample: Sample) => number) =>
  median(inWindow(SECONDS - window, SECONDS + SAMPLE_SECONDS, value))
const middle = (value: (sample: Sample) => number) =>
  median(inWindow(SECONDS / 2 - window / 2, SECONDS / 2 + window / 2, value))
const rss = (sample: Sample) => sample.rss
const heap = (sample: Sample) => sample.heapUsed
const rssGrowth = last(rss) / second(rss) - 1
const rssLateGrowth = last(rss) / middle(rss) - 1
const heapGrowth = last(heap) / second(heap) - 1
const percent = (ratio: number) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`
/**
 * The live heap (after a collection) says whether JavaScript objects leak. RSS also holds what V8 and
 * the allocator keep for reuse: it may climb for minutes and then level off, which is not a leak; one
 * still climbing in the second half of the run is.
 */
function verdict(): { text: string; ok: boolean } {
  if (heapGrowth > FLAT_GROWTH)
    return { text: 'LIVE HEAP GROWS: a leak, compare heap snapshots (SOAK_HEAP_SNAPSHOTS)', ok: false }
  if (rssGrowth <= FLAT_GROWTH) return { text: 'memory flat', ok: true }
  if (rssLateGrowth <= LEVEL_GROWTH)
    return { text: 'RSS grew, then levelled off; live heap flat: no leak', ok: true }
  return { text: 'RSS GROWS with the live heap flat: native memory, see the table', ok: false }
}
const fiveHundreds = [...statuses].filter(([key]) => key.startsWith('5')).reduce((sum, [, n]) => sum + n, 0)

console.log('\n| answer | count |\n|---|---|')
for (const [key, value] of [...statuses].sort()) console.log(`| ${key} | ${value} |`)
const { text, ok } = verdict()
console.log(
  `\n${completed} requests, ${failures} failed on the client side, ${fiveHundreds} answered 5xx\n` +
    `median RSS, MiB: ${second(rss).toFixed(1)} in the second ${window} s, ${middle(rss).toFixed(1)} in the middle ` +
    `${window} s, ${last(rss).toFixed(1)} in the last ${window} s (${percent(rssGrowth)} from the second, ` +
    `${percent(rssLateGrowth)} from the middle)\n` +
    `median live heap, MiB: ${mib(second(heap))} in the second ${window} s, ${mib(last(heap))} in the last ` +
    `(${percent(heapGrowth)})\nverdict: ${text}` +
    `${fiveHundreds > 0 || failures > 0 ? '; DEFECTS: see the 5xx and errors above' : ''}`,
)
await agent.close()
await gateway.stop()
await fake.stop()
process.exitCode = ok && fiveHundreds === 0 && failures === 0 ? 0 : 1
