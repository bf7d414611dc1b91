/**
 * `npm run bench:slow-clients`: what slow clients cost the server, and whether /chat keeps its latency.
 *
 * Slow clients open a connection and send part of a request: half send their headers and the start of
 * a body, half never finish their headers. Part 1 holds N of them (timeouts set long enough that none
 * expires) and measures /chat against a fast fake upstream with wrk (c=8, new connections) and the
 * server's RSS, for growing N: what the server survives when an attacker can keep them open. Part 2 runs
 * the defaults (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) and times how long the server takes to close
 * them all. The server is the production build pinned to CPU 0; wrk, the fake and the slow clients run
 * on CPU 1. Not part of `npm test`.
 */
import { execFileSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { LOAD_CPU, wrk } from './load.js'
import { freePort, type Running, startNode } from './processes.js'

const LEVELS = (process.env.BENCH_SLOW_LEVELS ?? '0,1000,4000,8000,12000').split(',').map(Number)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const RECLAIMED = Number(process.env.BENCH_SLOW_RECLAIMED ?? 4000)
const MAX_CONNECTIONS = 8_192

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const PARTIAL = [
  // Headers and the start of a body that never comes.
  'POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"messa',
  // Headers that never end.
  'POST /chat HTTP/1.1\r\nhost: x\r\ncontent-ty',
]

console.log('building the server (npm run build)...')
execFileSync('npm', ['run', 'build'], { stdio: 'ignore' })
const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: LOAD_CPU,
  port: await freePort(),
  env: {},
})

/** Opens `count` slow connections, in waves so the listen backlog never overflows. */
async function openSlow(url: string, count: number): Promise<Socket[]> {
  const { hostname, port } = new URL(url)
  const sockets: Socket[] = []
  for (let index = 0; index < count; index += 250) {
    const wave = Array.from({ length: Math.min(250, count - index) }, (_, offset) => {
      const socket = connect(Number(port), hostname)
      socket.on('error', () => {})
      socket.on('data', () => {})
      sockets.push(socket)
      return new Promise<void>((resolve) =>
        socket.once('connect', () => socket.write(PARTIAL[(index + offset) % 2] as string, () => resolve())),
      )
    })
    await Promise.race([Promise.all(wave), sleep(5_000)])
  }
  return sockets
}

const open = (sockets: Socket[]) => sockets.filter((socket) => !socket.destroyed).length
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

console.log('\n## Part 1: N slow connections held (timeouts 10 min), /chat measured by wrk c=8\n')
console.log(
  '| slow connections open | held by the server | RSS | /chat requests/s | p50 | p99 | loop delay p99 |',
)
console.log('|---|---|---|---|---|---|---|')
// One gateway for every level; the slow clients of a level are closed before the next.
const held = await startGatewayOnFreePort({ HEADERS_TIMEOUT_MS: '600000', REQUEST_TIMEOUT_MS: '600000' })
// Warm up (JIT, the upstream pool) so the first level is not the slowest for that reason.
await wrk(`${held.url}/chat`, { connections: 8, seconds: SECONDS, body: chatBody })
let baselineRss: number | undefined
for (const level of LEVELS) {
  const sockets = await openSlow(held.url, level)
  await sleep(1_000)
  const heldByServer = open(sockets)
  await held.probe()
  let chat: string
  try {
    const load = await wrk(`${held.url}/chat`, { connections: 8, seconds: SECONDS, body: chatBody })
    chat = `${load.requestsPerSecond.toFixed(0)} | ${load.p50Ms.toFixed(2)} ms | ${load.p99Ms.toFixed(2)} ms`
  } catch {
    chat = 'new connections refused (MAX_CONNECTIONS) | - | -'
  }
  const probe = await held.probe()
  baselineRss ??= probe.rss
  const each = heldByServer
    ? ` (+${((probe.rss - baselineRss) / heldByServer / 1024).toFixed(1)} KiB each)`
    : ''
  console.log(
    `| ${level} | ${heldByServer} | ${mib(probe.rss)} MiB${each} | ${chat} | ${probe.p99.toFixed(1)} ms |`,
  )
  for (const socket of sockets) socket.destroy()
  await sleep(2_000)
}
await held.stop()

console.log(`\n## Part 2: ${RECLAIMED} slow connections under the default timeouts\n`)
const defaults = await startGatewayOnFreePort({})
const sockets = await openSlow(defaults.url, RECLAIMED)
const before = await defaults.probe()
const started = performance.now()
const closedAfter: Record<string, number> = {}
while (open(sockets) > 0 && performance.now() - started < 60_000) {
  const remaining = open(sockets)
  if (remaining <= RECLAIMED / 2 && closedAfter.half === undefined)
    closedAfter.half = performance.now() - started
  await sleep(100)
}
closedAfter.all = performance.now() - started
const after = await defaults.probe()
console.log(
  `opened ${RECLAIMED} (half headers only, half headers and part of a body); RSS ${mib(before.rss)} MiB; ` +
    `half closed (the headers-only ones, 408) after ${((closedAfter.half ?? Number.NaN) / 1000).toFixed(1)} s, all after ` +
    `${(closedAfter.all / 1000).toFixed(1)} s (measured from when the last was opened); RSS then ${mib(after.rss)} MiB; ` +
    `${open(sockets)} left open`,
)
await defaults.stop()
await fake.stop()

async function startGatewayOnFreePort(environment: Record<string, string>): Promise<Running> {
  const port = await freePort()
  return startNode(
    'gateway',
    ['--max-semi-space-size=32', '--import', './bench/event-loop-probe.mjs', 'dist/server.js'],
    {
      cpu: '0',
      port,
      env: gatewayEnvironment(environment),
    },
  )
}

function gatewayEnvironment(environment: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    OPENAI_API_KEY: 'sk-bench-not-a-real-key',
    OPENAI_BASE_URL: `${fake.url}/v1`,
    RAG_DATA_DIR: '/tmp/bench-rag-data',
    MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    ...environment,
  }
}
