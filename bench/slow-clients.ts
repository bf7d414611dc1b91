/**
 * `npm run bench:slow-clients`: what slow clients cost the server, and whether /chat keeps its latency.
 *
 * Slow clients open a connection and send part of a request: half send their headers and the start of
 * a body, half never finish their headers. Part 1 holds N of them (timeouts set long enough that none
 * expires) and measures /chat against a fast fake upstream, from wrk (c=8, on new connections) and from a
 * pool of 8 keep-alive connections opened before the slow clients (a load balancer's), and the
 * server's RSS, for growing N: what the server survives when an attacker can keep them open. Part 2 runs
 * the defaults (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) and times how long the server takes to close
 * them all. The server is the production build pinned to CPU 0; wrk, the fake and the slow clients run
 * on CPU 1. Not part of `npm test`.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
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

const percentile = (values: number[], fraction: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * fraction))] ??
  Number.NaN

/** /chat over `pool`'s connections (opened before the slow clients, like a load balancer's) for `seconds`. */
async function pooledChat(url: string, pool: Agent, seconds: number): Promise<string> {
  const latencies: number[] = []
  const deadline = performance.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now()
        const response = await request(`${url}/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: chatBody,
          dispatcher: pool,
        })
        await response.body.dump()
        if (response.statusCode !== 200) throw new Error(`/chat answered ${response.statusCode}`)
        latencies.push(performance.now() - started)
      }
    }),
  )
  const ms = (value: number) => `${value.toFixed(2)} ms`
  return `${(latencies.length / seconds).toFixed(0)} | ${ms(percentile(latencies, 0.5))} | ${ms(percentile(latencies, 0.99))}`
}

/** The probe's figures; a busy server may not have written them within the probe's 200 ms: ask again. */
async function probeOf(server: Running): ReturnType<Running['probe']> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await server.probe()
    } catch (error) {
      if (attempt === 5) throw error
    }
  }
}

const open = (sockets: Socket[]) => sockets.filter((socket) => !socket.destroyed).length
/**
 * File descriptors the server holds: what it really keeps open. A client's count can be higher: a
 * connection the kernel dropped from a full listen backlog still looks open to its client.
 */
const descriptors = (server: Running) => readdirSync(`/proc/${server.child.pid}/fd`).length
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

console.log('\n## Part 1: N slow connections held (timeouts 10 min)\n')
console.log(
  '| slow connections | held by the server | RSS | /chat, new connections (wrk c=8): requests/s | p50 | p99 | ' +
    '/chat, a pool opened before (8 keep-alive): requests/s | p50 | p99 | loop delay p99 |',
)
console.log('|---|---|---|---|---|---|---|---|---|---|')
// One gateway for every level; the slow clients of a level are closed before the next.
const held = await startGatewayOnFreePort({ HEADERS_TIMEOUT_MS: '600000', REQUEST_TIMEOUT_MS: '600000' })
// Warm up (JIT, the upstream pool) so the first level is not the slowest for that reason.
await wrk(`${held.url}/chat`, { connections: 8, seconds: SECONDS, body: chatBody })
const pool = new Agent({ connections: 8, keepAliveTimeout: 600_000 })
await pooledChat(held.url, pool, 1)
let baselineRss: number | undefined
const idleDescriptors = descriptors(held)
for (const level of LEVELS) {
  const sockets = await openSlow(held.url, level)
  await sleep(1_000)
  const heldByServer = descriptors(held) - idleDescriptors
  await probeOf(held)
  let chat: string
  try {
    const load = await wrk(`${held.url}/chat`, { connections: 8, seconds: SECONDS, body: chatBody })
    if (load.requests === 0) throw new Error('no request answered')
    chat = `${load.requestsPerSecond.toFixed(0)} | ${load.p50Ms.toFixed(2)} ms | ${load.p99Ms.toFixed(2)} ms`
  } catch {
    chat = 'refused (MAX_CONNECTIONS) | - | -'
  }
  chat += ` | ${await pooledChat(held.url, pool, SECONDS)}`
  const figures = await probeOf(held)
  baselineRss ??= figures.rss
  // RSS moves by tens of MiB with the garbage collector: a figure per connection means something only
  // for thousands of them.
  const each =
    heldByServer >= 4_000
      ? ` (+${((figures.rss - baselineRss) / heldByServer / 1024).toFixed(1)} KiB each)`
      : ''
  console.log(
    `| ${level} | ${heldByServer} | ${mib(figures.rss)} MiB${each} | ${chat} | ${figures.p99.toFixed(1)} ms |`,
  )
  for (const socket of sockets) socket.destroy()
  await sleep(2_000)
}
await pool.close()
await held.stop()

console.log(`\n## Part 2: ${RECLAIMED} slow connections under the default timeouts\n`)
const defaults = await startGatewayOnFreePort({})
const quiet = descriptors(defaults)
const sockets = await openSlow(defaults.url, RECLAIMED)
const before = await probeOf(defaults)
const heldAtFirst = descriptors(defaults) - quiet
const started = performance.now()
let halfClosedAfter: number | undefined
while (descriptors(defaults) > quiet && performance.now() - started < 60_000) {
  if (descriptors(defaults) - quiet <= heldAtFirst / 2) halfClosedAfter ??= performance.now() - started
  await sleep(100)
}
const allClosedAfter = performance.now() - started
const after = await probeOf(defaults)
const seconds = (milliseconds: number | undefined) => ((milliseconds ?? Number.NaN) / 1000).toFixed(1)
console.log(
  `opened ${RECLAIMED} (half headers only, half headers and part of a body), ${heldAtFirst} held by the server; ` +
    `RSS ${mib(before.rss)} MiB; half closed (the headers-only ones, 408) after ${seconds(halfClosedAfter)} s, ` +
    `all after ${seconds(allClosedAfter)} s (from when the last was opened); RSS then ${mib(after.rss)} MiB; ` +
    `${descriptors(defaults) - quiet} left open by the server, ${open(sockets)} by the clients`,
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
    // One client measuring /chat for seconds on end: the request rate limit would refuse it.
    RATE_LIMIT_MAX: '0',
    ...environment,
  }
}
