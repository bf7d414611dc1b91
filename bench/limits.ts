/**
 * `npm run bench:limits`: what the per-client limits cost the gateway, in one run: the production build
 * with the limits off (RATE_LIMIT_MAX=0, STREAMS_PER_CLIENT=0), twice (the second shows the noise between
 * two identical servers), against the limits counted in memory and in Redis. The limits are set too high
 * to refuse anything: the figures are the cost of counting. Servers are pinned to CPU 0; wrk, the stream
 * client, the fake upstream and redis-server share CPU 1. After a discarded warm-up round, rounds rotate the order of the servers; ratios
 * are taken against "off" in the same round, and the median over rounds is reported.
 *
 * Resumption is off in every configuration: with REDIS_URL the replay log moves into Redis too, whose cost
 * (one XADD per event) is bench/resume.ts's question, not the limits'. BENCH_BASE_REF=<ref> adds "redis
 * (base)", the limits counted in Redis by that ref's build, to compare a change before and after in one
 * run; BENCH_VARIANTS=off,redis,... measures only those.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { LOAD_CPU, streamLoad, wrk } from './load.js'
import {
  buildRef,
  freePort,
  gatewayEnvironment,
  ROOT,
  type Running,
  startNode,
  withCpu,
} from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const BASE_REF = process.env.BENCH_BASE_REF

console.log('building the server (npm run build)...')
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })
const baseDirectory = BASE_REF ? buildRef(BASE_REF, 'limits') : undefined

const redisPort = await freePort()
const redis: ChildProcess = spawn(
  'taskset',
  [
    '-c',
    LOAD_CPU,
    'redis-server',
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ],
  { stdio: 'ignore' },
)
process.on('exit', () => redis.kill('SIGKILL'))
const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: LOAD_CPU,
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

const OFF = { RATE_LIMIT_MAX: '0', STREAMS_PER_CLIENT: '0' }
// High enough that nothing is refused (wrk counts any non-2xx as an error): only the counting is measured.
const ON = { RATE_LIMIT_MAX: '1000000000', STREAMS_PER_CLIENT: '1000000' }
const REDIS = { ...ON, REDIS_URL: `redis://127.0.0.1:${redisPort}` }
const allConfigurations: Record<string, Record<string, string>> = {
  off: OFF,
  'off again': OFF,
  memory: ON,
  redis: REDIS,
  ...(baseDirectory && { 'redis (base)': REDIS }),
}
const chosen = process.env.BENCH_VARIANTS?.split(',')
const configurations = Object.fromEntries(
  Object.entries(allConfigurations).filter(([name]) => name === 'off' || !chosen || chosen.includes(name)),
)

async function startGateway(name: string, environment: Record<string, string>): Promise<Running> {
  const directory = name === 'redis (base)' && baseDirectory ? baseDirectory : ROOT
  return startNode(
    name,
    ['--max-semi-space-size=32', '--import', './bench/event-loop-probe.mjs', `${directory}/dist/server.js`],
    {
      cpu: '0',
      port: await freePort(),
      env: { ...gatewayEnvironment(fake.url), LOG_LEVEL: 'warn', STREAM_RESUME: 'false', ...environment },
    },
  )
}

const servers: Record<string, Running> = {}
for (const [name, environment] of Object.entries(configurations)) {
  servers[name] = await startGateway(name, environment)
}

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })

type Figures = Record<string, number>
/** Per configuration, one Figures per round. */
const samples: Record<string, Figures[]> = Object.fromEntries(
  Object.keys(configurations).map((name) => [name, []]),
)

async function measure(server: Running): Promise<Figures> {
  const { result: chat, cpuUs: chatCpuUs } = await withCpu(
    server,
    () => wrk(`${server.url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody }),
    (load) => load.requests,
  )
  const { result: streams, cpuUs: streamCpuUs } = await withCpu(
    server,
    () => streamLoad(`${server.url}/stream`, streamBody, 64, SECONDS),
    (load) => load.streams,
  )
  return {
    chatRps: chat.requestsPerSecond,
    chatP50: chat.p50Ms,
    chatCpuUs,
    streamsPerSecond: streams.streamsPerSecond,
    streamCpuUs,
  }
}

const names = Object.keys(configurations)
// One discarded round first: every server compiles its hot paths before anything is recorded.
for (const name of names) await measure(servers[name] as Running)
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order, so no configuration always runs first (on a cold JIT) or last.
  const order = names.map((_, index) => names[(index + round) % names.length] as string)
  for (const name of order) {
    const figures = await measure(servers[name] as Running)
    samples[name]?.push(figures)
    console.log(
      `round ${round + 1}/${ROUNDS} ${name}: ${JSON.stringify(figures, (_key, value) => (typeof value === 'number' ? Number(value.toFixed(2)) : value))}`,
    )
  }
}
await Promise.all(Object.values(servers).map((server) => server.stop()))
await fake.stop()
redis.kill('SIGKILL')
await once(redis, 'exit')

const medianOf = (values: number[]) =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const median = (name: string, key: string) =>
  medianOf((samples[name] ?? []).map((figures) => figures[key] ?? Number.NaN))
/** The median over rounds of `name` / off, each round against the off of the same round. */
const ratio = (name: string, key: string) =>
  medianOf(
    (samples[name] ?? []).map(
      (figures, round) => (figures[key] ?? Number.NaN) / (samples.off?.[round]?.[key] ?? Number.NaN),
    ),
  )

console.log(`\n${ROUNDS} rounds of ${SECONDS} s, c=64; ratios against "off" in the same round (median)\n`)
console.log(
  '| configuration | /chat req/s | ratio | /chat CPU/req | ratio | /stream streams/s | ratio | /stream CPU/stream | ratio |',
)
console.log('|---|---|---|---|---|---|---|---|---|')
for (const name of names) {
  const cells = [
    median(name, 'chatRps').toFixed(0),
    `${ratio(name, 'chatRps').toFixed(2)}x`,
    `${median(name, 'chatCpuUs').toFixed(0)} µs`,
    `${ratio(name, 'chatCpuUs').toFixed(2)}x`,
    median(name, 'streamsPerSecond').toFixed(0),
    `${ratio(name, 'streamsPerSecond').toFixed(2)}x`,
    `${median(name, 'streamCpuUs').toFixed(0)} µs`,
    `${ratio(name, 'streamCpuUs').toFixed(2)}x`,
  ]
  console.log(`| ${name} | ${cells.join(' | ')} |`)
}
