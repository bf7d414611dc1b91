/**
 * `npm run bench:cache`: a response-cache hit against the baseline's /chat (bench/baseline.ts), and what
 * this build costs with the cache and coalescing off against `BENCH_BASE_REF` (default main), in one run.
 * Processes: the fake upstream, the baseline, the ref's build (`base`), and this branch's production build
 * twice: `off` (the defaults: no cache, no coalescing) and `hit` (RESPONSE_CACHE=true: every request
 * after the first is served from the in-memory cache, no upstream call). Servers on CPU 0, wrk and the fake on CPU 1. After a discarded warm-up round, rounds rotate the
 * order; figures are medians over rounds, ratios the median of per-round ratios.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { wrk } from './load.js'
import {
  buildRef,
  freePort,
  gatewayEnvironment,
  ROOT,
  type Running,
  startNode,
  withCpu,
} from './processes.js'
import { comparisonTable, type FigureRow, type Figures, measureRounds } from './rounds.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const BASE_REF = process.env.BENCH_BASE_REF ?? 'main'

console.log(`building this branch and ${BASE_REF}...`)
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })
const baseDirectory = buildRef(BASE_REF, 'cache')

const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: '1',
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

async function gateway(name: string, directory: string, environment: Record<string, string>) {
  return startNode(name, ['--max-semi-space-size=32', join(directory, 'dist/server.js')], {
    cpu: '0',
    port: await freePort(),
    env: { ...gatewayEnvironment(fake.url), RAG_DATA_DIR: `/tmp/bench-cache-rag-${name}`, ...environment },
  })
}

const servers: Record<string, Running> = {
  baseline: await startNode('baseline', ['--import', 'tsx', 'bench/baseline.ts'], {
    cpu: '0',
    port: await freePort(),
    env: { UPSTREAM_URL: fake.url },
  }),
  base: await gateway('base', baseDirectory, {}),
  off: await gateway('off', ROOT, {}),
  hit: await gateway('hit', ROOT, { RESPONSE_CACHE: 'true' }),
}
const names = Object.keys(servers)

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })

async function measure(server: Running): Promise<Figures> {
  const single = await wrk(`${server.url}/chat`, { connections: 1, seconds: SECONDS, body: chatBody })
  const { result: loaded, cpuUs } = await withCpu(
    server,
    () => wrk(`${server.url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody }),
    (load) => load.requests,
  )
  return { chatC1P50: single.p50Ms, chatRps: loaded.requestsPerSecond, chatCpuUs: cpuUs }
}

const samples = await measureRounds(names, ROUNDS, (name) => measure(servers[name] as Running))
await Promise.all([...Object.values(servers).map((server) => server.stop()), fake.stop()])

const FIGURES: FigureRow[] = [
  ['chatC1P50', '`/chat` c=1 p50', (value) => `${value.toFixed(3)} ms`],
  ['chatRps', '`/chat` c=64 requests/s', (value) => value.toFixed(0)],
  ['chatCpuUs', '`/chat` c=64 server CPU per request', (value) => `${value.toFixed(0)} µs`],
]
const comparisons = [
  ['hit', 'baseline'],
  ['off', 'base'],
] as const
const table = comparisonTable(samples, FIGURES, comparisons)
console.log(`\n${ROUNDS} rounds of ${SECONDS} s, base = ${BASE_REF}\n\n${table}`)
