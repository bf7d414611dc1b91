/**
 * `npm run bench:metrics`: what metrics cost per request. The production build runs twice, with
 * METRICS_ENABLED=true and =false, against the fast fake upstream (bench/fake-upstream.ts), in one run.
 * Both servers are pinned to CPU 0 and measured one at a time (wrk, the stream client and the fake share
 * CPU 1); rounds alternate which goes first, and each ratio on/off is taken within a round, then the
 * median over rounds. Server CPU per request (/proc) is the figure that matters on this shared machine:
 * a noisy neighbour moves requests/s a lot and CPU per request little.
 */
import { execFileSync } from 'node:child_process'
import { LOAD_CPU, streamLoad, wrk } from './load.js'
import { freePort, gatewayEnvironment, ROOT, type Running, startNode, withCpu } from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const SERVER_CPU = '0'

console.log('building the server (npm run build)...')
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })

const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: LOAD_CPU,
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

type Mode = 'on' | 'off'

const gateway = async (mode: Mode) =>
  startNode(`gateway-metrics-${mode}`, ['--max-semi-space-size=32', 'dist/server.js'], {
    cpu: SERVER_CPU,
    port: await freePort(),
    env: { ...gatewayEnvironment(fake.url), METRICS_ENABLED: mode === 'on' ? 'true' : 'false' },
  })
const servers: Record<Mode, Running> = { on: await gateway('on'), off: await gateway('off') }

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })

type Figures = Record<string, number>

async function measure(server: Running): Promise<Figures> {
  const chat = await withCpu(
    server,
    () => wrk(`${server.url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody }),
    (figures) => figures.requests,
  )
  const stream = await withCpu(
    server,
    () => streamLoad(`${server.url}/stream`, streamBody, 64, SECONDS),
    (figures) => figures.streams,
  )
  return {
    chatRps: chat.result.requestsPerSecond,
    chatCpuUs: chat.cpuUs,
    streamsPerSecond: stream.result.streamsPerSecond,
    streamCpuUs: stream.cpuUs,
  }
}

// A discarded round first: both processes compile their hot paths before anything is recorded.
for (const mode of ['on', 'off'] as const) await measure(servers[mode])

const rounds: Record<Mode, Figures>[] = []
for (let round = 0; round < ROUNDS; round++) {
  const order: Mode[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on']
  const figures = { on: {}, off: {} } as Record<Mode, Figures>
  for (const mode of order) figures[mode] = await measure(servers[mode])
  rounds.push(figures)
  console.log(
    `round ${round + 1}/${ROUNDS}: ${JSON.stringify(figures, (_key, value) => (typeof value === 'number' ? Number(value.toFixed(1)) : value))}`,
  )
}

// The metrics exist: one scrape shows the requests just counted (and the stage and wrapper were in use).
const scrape = await (await fetch(`${servers.on.url}/metrics`)).text()
const streamsCounted = /^genai_stream_duration_seconds_count (\d+)/m.exec(scrape)?.[1]
await Promise.all([servers.on.stop(), servers.off.stop(), fake.stop()])

const medianOf = (values: number[]) =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const median = (mode: Mode, key: string) =>
  medianOf(rounds.map((figures) => figures[mode][key] ?? Number.NaN))
const ratio = (key: string) =>
  medianOf(rounds.map((figures) => (figures.on[key] ?? Number.NaN) / (figures.off[key] ?? Number.NaN)))

const row = (label: string, key: string, unit: string) =>
  `| ${label} | ${median('on', key).toFixed(0)}${unit} | ${median('off', key).toFixed(0)}${unit} | ${ratio(key).toFixed(3)}x |`
console.log(`\nstreams counted by the metered server: ${streamsCounted}\n`)
console.log(
  '| figure (median of rounds) | metrics on | metrics off | on / off (median of per-round ratios) |',
)
console.log('|---|---|---|---|')
console.log(row('`/chat` c=64: requests/s', 'chatRps', ''))
console.log(row('`/chat` c=64: server CPU per request', 'chatCpuUs', ' µs'))
console.log(row('`/stream` 20 deltas c=64: streams/s', 'streamsPerSecond', ''))
console.log(row('`/stream` c=64: server CPU per stream', 'streamCpuUs', ' µs'))
