/**
 * Soak: the built gateway in its own process under mixed load for SOAK_SECONDS (default 600), against
 * bench/fake-upstream.ts, sampling its RSS (/proc/<pid>/status) and event-loop delay
 * (bench/event-loop-probe.mjs) every SAMPLE_SECONDS. Prints a table and a verdict on memory growth:
 * the median RSS of the last minute against that of the second (the first is warm-up). Not run in CI:
 * it measures memory over time, not speed, so a noisy machine does not spoil it.
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
/** Growth of the last minute's median RSS over the second minute's that still counts as flat. */
const FLAT_GROWTH = 0.1

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
  ['--max-semi-space-size=32', '--import', './bench/event-loop-probe.mjs', 'dist/server.js'],
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

function rssMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return kib / 1024
}

interface Sample {
  second: number
  rss: number
  p50: number
  p99: number
  max: number
  requests: number
}
const samples: Sample[] = []
async function sampler() {
  let last = 0
  while (performance.now() < deadline) {
    await sleep(SAMPLE_SECONDS * 1000)
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
      `| ${sample.second} | ${sample.rss.toFixed(1)} | ${sample.p50.toFixed(1)} / ${sample.p99.toFixed(1)} / ${sample.max.toFixed(1)} | ${(sample.requests / SAMPLE_SECONDS).toFixed(0)} |`,
    )
  }
}

console.log(
  `soak: ${SECONDS} s, ${RPS} requests/s over ${CONCURRENCY} clients, a sample every ${SAMPLE_SECONDS} s\n`,
)
console.log('| s | RSS MiB | event-loop delay p50 / p99 / max ms | requests/s |')
console.log('|---|---|---|---|')
await Promise.all([sampler(), ...Array.from({ length: CONCURRENCY }, (_, index) => client(index))])

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
// The first minute is warm-up; with a short run, compare its second third with its last third.
const window = SECONDS >= 180 ? 60 : SECONDS / 3
const inWindow = (from: number, to: number) =>
  samples.filter((sample) => sample.second > from && sample.second <= to).map((sample) => sample.rss)
const early = median(inWindow(window, 2 * window))
const late = median(inWindow(SECONDS - window, SECONDS + SAMPLE_SECONDS))
const growth = late / early - 1
const fiveHundreds = [...statuses].filter(([key]) => key.startsWith('5')).reduce((sum, [, n]) => sum + n, 0)

console.log('\n| answer | count |\n|---|---|')
for (const [key, value] of [...statuses].sort()) console.log(`| ${key} | ${value} |`)
console.log(
  `\n${completed} requests, ${failures} failed on the client side, ${fiveHundreds} answered 5xx; ` +
    `median RSS ${early.toFixed(1)} MiB in the second ${window} s, ${late.toFixed(1)} MiB in the last ${window} s ` +
    `(${(growth * 100).toFixed(1)}%): ${growth <= FLAT_GROWTH ? 'memory flat' : 'MEMORY GROWS'}` +
    `${fiveHundreds > 0 || failures > 0 ? '; DEFECTS: see the 5xx and errors above' : ''}`,
)
await agent.close()
await gateway.stop()
await fake.stop()
process.exitCode = growth <= FLAT_GROWTH && fiveHundreds === 0 && failures === 0 ? 0 : 1
