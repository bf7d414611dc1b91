/**
 * `npm run bench:limits-hook`: the server CPU the per-client limits add to one request, measured in one
 * process where a noisy neighbour moves it least: the app is built (never listening) with a provider
 * that answers at once, and `/chat` and `/stream` are injected back to back, in blocks alternating
 * between apps with the limits off, counted in memory and in Redis (a local redis-server; its own CPU is
 * not counted). Each figure is the median over blocks of process CPU per request; ratios are against off
 * in the same block.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config.js'
import type { ChatProvider, StreamPart } from '../src/providers/provider.js'
import { freePort } from './processes.js'

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 9)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000)

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

const OFF = { RATE_LIMIT_MAX: '0', STREAMS_PER_CLIENT: '0' }
const ON = { RATE_LIMIT_MAX: '1000000000', STREAMS_PER_CLIENT: '1000000' }
const configurations: Record<string, Record<string, string>> = {
  off: OFF,
  'off again': OFF,
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

/** Process CPU per request, in µs, over REQUESTS sequential injections of `request`. */
async function cpuPerRequest(app: FastifyInstance, request: typeof chat | typeof stream): Promise<number> {
  const before = process.cpuUsage()
  for (let index = 0; index < REQUESTS; index++) {
    const response = await app.inject(request)
    if (response.statusCode !== 200) throw new Error(`${request.url} answered ${response.statusCode}`)
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / REQUESTS
}

const names = Object.keys(configurations)
const samples: Record<string, { chat: number; stream: number }[]> = Object.fromEntries(
  names.map((name) => [name, []]),
)
for (const name of names) await cpuPerRequest(apps[name] as FastifyInstance, chat) // warm-up
for (let block = 0; block < BLOCKS; block++) {
  const order = names.map((_, index) => names[(index + block) % names.length] as string)
  for (const name of order) {
    const app = apps[name] as FastifyInstance
    samples[name]?.push({ chat: await cpuPerRequest(app, chat), stream: await cpuPerRequest(app, stream) })
  }
}
await Promise.all(Object.values(apps).map((app) => app.close()))
redis.kill('SIGKILL')
await once(redis, 'exit')

const medianOf = (values: number[]) =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const median = (name: string, key: 'chat' | 'stream') =>
  medianOf((samples[name] ?? []).map((sample) => sample[key]))
const ratio = (name: string, key: 'chat' | 'stream') =>
  medianOf(
    (samples[name] ?? []).map((sample, block) => sample[key] / (samples.off?.[block]?.[key] ?? Number.NaN)),
  )

console.log(
  `\n${BLOCKS} blocks of ${REQUESTS} injected requests each; ratios against "off" in the same block (median)\n`,
)
console.log('| configuration | /chat CPU/request | ratio | /stream CPU/stream | ratio |')
console.log('|---|---|---|---|---|')
for (const name of names) {
  const cells = [
    `${median(name, 'chat').toFixed(1)} µs`,
    `${ratio(name, 'chat').toFixed(3)}x`,
    `${median(name, 'stream').toFixed(1)} µs`,
    `${ratio(name, 'stream').toFixed(3)}x`,
  ]
  console.log(`| ${name} | ${cells.join(' | ')} |`)
}
