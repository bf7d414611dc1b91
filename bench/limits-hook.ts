/**
 * `npm run bench:limits-hook`: the share of a request's CPU the per-client limits take, from one V8 CPU
 * profile per route and store, a figure a noisy neighbour moves far less than requests/s or CPU per
 * request between processes (bench/limits.ts). The app is built (never listening) with a provider that
 * answers at once, so the gateway's own work is the whole profile; `/chat` and `/stream` are injected
 * REQUESTS times each, with the limits counted in memory, then in Redis (a local redis-server, whose own
 * CPU is not in the profile). Comparing apps by CPU per request inside one process was tried and dropped:
 * two identical apps differed by up to 1.7x (whichever was built first ran faster).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { Session } from 'node:inspector/promises'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config.js'
import type { ChatProvider, StreamPart } from '../src/providers/provider.js'
import { freePort } from './processes.js'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000)

/** A provider with no upstream: what is left to measure is the gateway. */
const instant: ChatProvider = {
  generate: async (request) => ({ text: 'Hi', model: request.model }),
  async *stream(): AsyncGenerator<StreamPart> {
    yield { type: 'start', model: 'instant' }
    for (let index = 0; index < 20; index++) yield { type: 'text-delta', text: 'word ' }
    yield { type: 'end', finishReason: 'stop' }
  },
}

const redisPort = await freePort()
const redis: ChildProcess = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
)
process.on('exit', () => redis.kill('SIGKILL'))
await new Promise((resolve) => setTimeout(resolve, 300))

// High enough that nothing is refused: only the counting is measured.
const ON = { RATE_LIMIT_MAX: '1000000000', STREAMS_PER_CLIENT: '1000000' }
const configurations: Record<string, Record<string, string>> = {
  memory: ON,
  redis: { ...ON, REDIS_URL: `redis://127.0.0.1:${redisPort}` },
}
const apps: Record<string, FastifyInstance> = {}
for (const [name, environment] of Object.entries(configurations)) {
  const config = parseConfig({
    OPENAI_API_KEY: 'sk-bench',
    LOG_LEVEL: 'silent',
    METRICS_ENABLED: 'false',
    RAG_DATA_DIR: '/tmp/bench-rag-data',
    // With REDIS_URL the replay log would move into Redis too: its cost is bench/resume.ts's question.
    STREAM_RESUME: 'false',
    ...environment,
  })
  apps[name] = await buildApp(config, { openai: instant })
  await apps[name].ready()
}

const chat = {
  method: 'POST' as const,
  url: '/chat',
  payload: { messages: [{ role: 'user', content: 'hi' }] },
}
const stream = { method: 'GET' as const, url: '/stream?prompt=hi' }

/** Injects `request` REQUESTS times, one after the other; every answer must be a 200. */
async function injectMany(app: FastifyInstance, request: typeof chat | typeof stream): Promise<void> {
  for (let index = 0; index < REQUESTS; index++) {
    const response = await app.inject(request)
    if (response.statusCode !== 200) throw new Error(`${request.url} answered ${response.statusCode}`)
  }
}

for (const app of Object.values(apps)) await injectMany(app, chat) // warm-up: compiled before profiling

/**
 * The share of CPU the limits take, from a V8 profile of `app` over REQUESTS of `request`: the rate
 * limiter and its dependencies, ioredis, and our own limits code, by self time (idle excluded). A share
 * within one profile is not moved by a noisy neighbour the way CPU per request is.
 */
async function limitShares(app: FastifyInstance, request: typeof chat | typeof stream) {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  await injectMany(app, request)
  const { profile } = await session.post('Profiler.stop')
  session.disconnect()
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const parts = new Map<string, number>()
  let total = 0
  for (const [index, id] of (profile.samples ?? []).entries()) {
    const frame = nodes.get(id)
    if (frame === undefined || frame.functionName === '(idle)') continue
    const micros = profile.timeDeltas?.[index] ?? 0
    total += micros
    const part = LIMIT_PARTS.find(([, pattern]) => pattern.test(frame.url))?.[0]
    if (part) parts.set(part, (parts.get(part) ?? 0) + micros)
  }
  return Object.fromEntries(
    [...parts].map(([part, micros]) => [part, `${((micros / total) * 100).toFixed(2)} %`]),
  )
}
const LIMIT_PARTS: [string, RegExp][] = [
  [
    '@fastify/rate-limit and its dependencies',
    /node_modules\/(@fastify\/rate-limit|toad-cache|@lukeed\/ms|ip-address)\//,
  ],
  ['ioredis', /node_modules\/(ioredis|@ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback)\//],
  [
    'our limits code',
    /src\/(plugins\/limits|streaming\/stream-slots|routes\/allowed-models|routes\/call-options)/,
  ],
]
for (const name of ['memory', 'redis']) {
  const app = apps[name] as FastifyInstance
  console.log(`profile ${name} /chat: ${JSON.stringify(await limitShares(app, chat))}`)
  console.log(`profile ${name} /stream: ${JSON.stringify(await limitShares(app, stream))}`)
}

await Promise.all(Object.values(apps).map((app) => app.close()))
redis.kill('SIGKILL')
await once(redis, 'exit')
