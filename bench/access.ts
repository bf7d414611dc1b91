/**
 * `npm run bench:access`: what API keys (and CORS) cost per request, and what this branch costs with
 * them off, against the same server built from `BENCH_BASE_REF` (default main), all in one run.
 *
 * Five gateway processes on one fake upstream (bench/fake-upstream.ts): `base` (the ref's build), `off`
 * (this build, no keys: helmet and the cross-site check run, no key hook), `keys` (20 keys in
 * API_KEY_HASHES, each request with its Authorization header), `keys+cors` (the same with CORS_ORIGINS
 * and an Origin header) and `keys+limits` (keys, and the rate and stream limits counted in memory, set
 * too high to refuse anything). BENCH_VARIANTS=base,off measures only those two. After a discarded
 * warm-up round, as bench/gateway.ts: servers on CPU 0, load on CPU 1, rounds rotate the order, figures
 * are medians over rounds and ratios the median of per-round ratios.
 */
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey, hashKey } from '../src/plugins/key-ring.js'
import { streamLoad, wrk } from './load.js'
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const BASE_REF = process.env.BENCH_BASE_REF ?? 'main'

console.log(`building this branch and ${BASE_REF}...`)
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })
const baseDirectory = buildRef(BASE_REF, 'access')

const key = generateKey()
const otherKeys = Array.from({ length: 19 }, (_, index) => `key${index}:use:${hashKey(generateKey())}`)
const keysEnvironment = {
  API_KEY_HASHES: [...otherKeys, `bench:use:${hashKey(key)}`].join(','),
  STREAM_TOKEN_SECRET: 'x'.repeat(32),
}
const ORIGIN = 'https://app.example'

const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: '1',
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

interface Variant {
  server: Running
  headers: Record<string, string>
}

async function gateway(name: string, directory: string, env: Record<string, string>): Promise<Running> {
  return startNode(name, ['--max-semi-space-size=32', join(directory, 'dist/server.js')], {
    cpu: '0',
    port: await freePort(),
    // Each its own data folder: four processes must not share one LanceDB store.
    env: {
      ...gatewayEnvironment(fake.url),
      RAG_DATA_DIR: join(tmpdir(), `bench-access-rag-${name}`),
      ...env,
    },
  })
}

const variants: Record<string, Variant> = {
  base: { server: await gateway('base', baseDirectory, {}), headers: {} },
  off: { server: await gateway('off', ROOT, {}), headers: {} },
  keys: { server: await gateway('keys', ROOT, keysEnvironment), headers: { authorization: `Bearer ${key}` } },
  'keys+cors': {
    server: await gateway('keys-cors', ROOT, { ...keysEnvironment, CORS_ORIGINS: ORIGIN }),
    headers: { authorization: `Bearer ${key}`, origin: ORIGIN },
  },
  // Keys and the per-key limits together, counted in memory; maxima too high to refuse anything.
  'keys+limits': {
    server: await gateway('keys-limits', ROOT, {
      ...keysEnvironment,
      RATE_LIMIT_MAX: '1000000000',
      STREAMS_PER_CLIENT: '1000000',
    }),
    headers: { authorization: `Bearer ${key}` },
  },
}
// BENCH_VARIANTS=base,off compares this build with the ref alone (before and after a change).
const chosen = process.env.BENCH_VARIANTS?.split(',')
const names = Object.keys(variants).filter((name) => !chosen || chosen.includes(name))

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })

async function measure({ server, headers }: Variant): Promise<Figures> {
  const single = await wrk(`${server.url}/chat`, {
    connections: 1,
    seconds: SECONDS,
    body: chatBody,
    headers,
  })
  const { result: chat, cpuUs: chatCpuUs } = await withCpu(
    server,
    () => wrk(`${server.url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody, headers }),
    (load) => load.requests,
  )
  const { result: streams, cpuUs: streamCpuUs } = await withCpu(
    server,
    () => streamLoad(`${server.url}/stream`, streamBody, 64, SECONDS, headers),
    (load) => load.streams,
  )
  return {
    chatC1P50: single.p50Ms,
    chatRps: chat.requestsPerSecond,
    chatCpuUs,
    streamsPerSecond: streams.streamsPerSecond,
    streamCpuUs,
  }
}

const samples = await measureRounds(names, ROUNDS, (name) => measure(variants[name] as Variant))
await Promise.all([...Object.values(variants).map((variant) => variant.server.stop()), fake.stop()])

const FIGURES: FigureRow[] = [
  ['chatC1P50', '`/chat` c=1 p50', (value) => `${value.toFixed(2)} ms`],
  ['chatRps', '`/chat` c=64 requests/s', (value) => value.toFixed(0)],
  ['chatCpuUs', '`/chat` c=64 server CPU per request', (value) => `${value.toFixed(0)} µs`],
  ['streamsPerSecond', '`/stream` c=64 streams/s', (value) => value.toFixed(0)],
  ['streamCpuUs', '`/stream` c=64 server CPU per stream', (value) => `${value.toFixed(0)} µs`],
]
const comparisons = [
  ['off', 'base'],
  ['keys', 'off'],
  ['keys+cors', 'off'],
  ['keys+limits', 'off'],
] as const
const table = comparisonTable(samples, FIGURES, comparisons)
console.log(`\n${ROUNDS} rounds of ${SECONDS} s, base = ${BASE_REF}\n\n${table}`)
