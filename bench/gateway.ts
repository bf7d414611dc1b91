/**
 * `npm run bench`: the gateway's overhead, side by side with a bare baseline, in one run.
 *
 * A fast fake upstream (its own process), the production build of the server and the baseline
 * (bench/baseline.ts) each run in their own process. Servers are pinned to CPU 0; wrk, the stream client
 * and the fake share CPU 1, so the server measured never competes with its load. Rounds alternate the
 * two servers; each figure is the median over rounds, and ratios compare figures of the same run.
 * Beside requests/s, each loaded scenario reports the server's CPU time per request (/proc): a noisy
 * neighbour on this shared machine moves throughput a lot and CPU per request little.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { LOAD_CPU, openStreams, streamLoad, wrk } from './load.js'
import { freePort, gatewayEnvironment, ROOT, type Running, startNode, withCpu } from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const OPEN_STREAMS = Number(process.env.BENCH_OPEN_STREAMS ?? 2_000)
const SERVER_CPU = '0'

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' })
} catch (error) {
  // wrk prints its version and exits 1; only a missing binary is a problem.
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    console.error('wrk is needed: apt-get install wrk')
    process.exit(1)
  }
}

console.log('building the server (npm run build)...')
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })

const started = performance.now()
const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: LOAD_CPU,
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})
/** The two servers measured, each started the way it is meant to run. */
const starters: Record<'gateway' | 'baseline', () => Promise<Running>> = {
  // With the V8 flag production runs with (npm start, Dockerfile).
  gateway: async () =>
    startNode(
      'gateway',
      ['--max-semi-space-size=32', '--import', './bench/event-loop-probe.mjs', 'dist/server.js'],
      {
        cpu: SERVER_CPU,
        port: await freePort(),
        env: gatewayEnvironment(fake.url),
      },
    ),
  baseline: async () =>
    startNode(
      'baseline',
      ['--import', 'tsx', '--import', './bench/event-loop-probe.mjs', 'bench/baseline.ts'],
      {
        cpu: SERVER_CPU,
        port: await freePort(),
        env: { UPSTREAM_URL: fake.url },
      },
    ),
}
const servers = { gateway: await starters.gateway(), baseline: await starters.baseline() }

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })
const directBody = JSON.stringify({
  model: 'gpt-4.1-mini',
  input: [{ role: 'user', content: 'Say hi' }],
  store: false,
})

type Figures = Record<string, number>
const samples: Record<string, Figures[]> = { gateway: [], baseline: [], direct: [] }

type ServerName = 'gateway' | 'baseline'

/** One scenario's figures for one server. */
const scenarios: ((server: Running) => Promise<Figures>)[] = [
  async ({ url }) => {
    const load = await wrk(`${url}/chat`, { connections: 1, seconds: SECONDS, body: chatBody })
    return { chatC1P50: load.p50Ms, chatC1P99: load.p99Ms }
  },
  async (server) => {
    const load = () => wrk(`${server.url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody })
    const { result, cpuUs } = await withCpu(server, load, (figures) => figures.requests)
    return {
      chatC64Rps: result.requestsPerSecond,
      chatC64P50: result.p50Ms,
      chatC64P99: result.p99Ms,
      chatC64CpuUs: cpuUs,
    }
  },
  async (server) => {
    const url = `${server.url}/local-chat?model=llama3.2&prompt=hi`
    const load = () => wrk(url, { connections: 64, seconds: SECONDS })
    const { result, cpuUs } = await withCpu(server, load, (figures) => figures.requests)
    return { localC64Rps: result.requestsPerSecond, localC64CpuUs: cpuUs }
  },
  async (server) => {
    const load = () => streamLoad(`${server.url}/stream`, streamBody, 64, SECONDS)
    const { result, cpuUs } = await withCpu(server, load, (figures) => figures.streams)
    return {
      streamsPerSecond: result.streamsPerSecond,
      streamCpuUs: cpuUs,
      firstContentP50: result.firstContentP50Ms,
      firstContentP99: result.firstContentP99Ms,
    }
  },
]

// Each scenario runs on both servers back to back (order alternating), so a noisy neighbour is more
// likely to hit both halves of a comparison than one of them; ratios are taken per round.
for (let round = 0; round < ROUNDS; round++) {
  const order: ServerName[] = round % 2 === 0 ? ['gateway', 'baseline'] : ['baseline', 'gateway']
  const direct = await wrk(`${fake.url}/v1/responses`, { connections: 1, seconds: SECONDS, body: directBody })
  samples.direct?.push({ chatC1P50: direct.p50Ms, chatC1P99: direct.p99Ms })
  const figures: Record<ServerName, Figures> = { gateway: {}, baseline: {} }
  for (const scenario of scenarios) {
    for (const name of order) Object.assign(figures[name], await scenario(servers[name]))
  }
  for (const name of order) {
    samples[name]?.push(figures[name])
    console.log(
      `round ${round + 1}/${ROUNDS} ${name}: ${JSON.stringify(figures[name], (_key, value) => (typeof value === 'number' ? Number(value.toFixed(3)) : value))}`,
    )
  }
}

/** RSS per open stream and event-loop delay while `OPEN_STREAMS` slow streams are open. */
async function openStreamFigures(server: Running): Promise<Figures> {
  await server.probe()
  const idle = await server.probe()
  const sockets = await openStreams(
    `${server.url}/stream`,
    JSON.stringify({ prompt: 'hi', model: 'slow' }),
    OPEN_STREAMS,
  )
  await server.probe() // reset the event-loop histogram: measure the steady state, not the opening
  await sleep(10_000)
  const open = await server.probe()
  for (const socket of sockets) socket.destroy()
  await sleep(2_000)
  return {
    rssPerStreamKiB: (open.rss - idle.rss) / OPEN_STREAMS / 1024,
    idleRssMiB: idle.rss / 1024 / 1024,
    openRssMiB: open.rss / 1024 / 1024,
    eventLoopP99: open.p99,
    eventLoopMax: open.max,
  }
}
await Promise.all([servers.gateway.stop(), servers.baseline.stop()])

/**
 * Open streams are measured on a fresh process: after the load rounds a heap has grown room enough to
 * hold 2,000 streams without growing, and RSS would say nothing about what a stream costs. The fresh
 * process also compiles its code while the streams open, so the figure errs high.
 */
async function onFreshServer(name: 'gateway' | 'baseline'): Promise<Figures> {
  const server = await starters[name]()
  try {
    return await openStreamFigures(server)
  } finally {
    await server.stop()
  }
}
const openFigures = { gateway: await onFreshServer('gateway'), baseline: await onFreshServer('baseline') }

await fake.stop()

const median = (name: string, key: string) => {
  const values = (samples[name] ?? []).map((figures) => figures[key] ?? Number.NaN).sort((a, b) => a - b)
  return values[Math.floor(values.length / 2)] ?? Number.NaN
}
const g = (key: string) => median('gateway', key)
const b = (key: string) => median('baseline', key)
const ms = (value: number) => `${value.toFixed(2)} ms`
const rate = (value: number) => value.toFixed(0)
/** The median over rounds of gateway / baseline (baseline / gateway with `inverse`), pairs measured together. */
const roundRatio = (key: string, inverse = false) => {
  const ratios = (samples.gateway ?? []).map((gateway, round) => {
    const ours = gateway[key] ?? Number.NaN
    const theirs = samples.baseline?.[round]?.[key] ?? Number.NaN
    return inverse ? theirs / ours : ours / theirs
  })
  return ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)] ?? Number.NaN
}
const mark = (ok: boolean) => (ok ? 'met' : '**missed**')
/** The same work measured as CPU: the baseline's share of the gateway's is the throughput it allows. */
const cpuRow = (label: string, key: string) => [
  label,
  `${g(key).toFixed(0)} µs`,
  `${b(key).toFixed(0)} µs`,
  `baseline / gateway: ${roundRatio(key, true).toFixed(2)}x`,
]

const directP50 = median('direct', 'chatC1P50')
const rows = [
  [
    '`/chat` c=1: p50 / p99',
    `${ms(g('chatC1P50'))} / ${ms(g('chatC1P99'))}`,
    `${ms(b('chatC1P50'))} / ${ms(b('chatC1P99'))}`,
    `fake alone: ${ms(directP50)} / ${ms(median('direct', 'chatC1P99'))}`,
  ],
  [
    '`/chat` c=1: p50 added over calling the fake',
    ms(g('chatC1P50') - directP50),
    ms(b('chatC1P50') - directP50),
    `target < 0.5 ms: ${mark(g('chatC1P50') - directP50 < 0.5)}`,
  ],
  [
    '`/chat` c=64: requests/s',
    rate(g('chatC64Rps')),
    rate(b('chatC64Rps')),
    `${roundRatio('chatC64Rps').toFixed(2)}x (target ≥ 0.8x: ${mark(roundRatio('chatC64Rps') >= 0.8)})`,
  ],
  cpuRow('`/chat` c=64: server CPU per request', 'chatC64CpuUs'),
  [
    '`/chat` c=64: p50 / p99',
    `${ms(g('chatC64P50'))} / ${ms(g('chatC64P99'))}`,
    `${ms(b('chatC64P50'))} / ${ms(b('chatC64P99'))}`,
    '',
  ],
  [
    '`/stream` 20 deltas c=64: streams/s',
    rate(g('streamsPerSecond')),
    rate(b('streamsPerSecond')),
    `${roundRatio('streamsPerSecond').toFixed(2)}x (target ≥ 0.8x: ${mark(roundRatio('streamsPerSecond') >= 0.8)})`,
  ],
  cpuRow('`/stream` c=64: server CPU per stream', 'streamCpuUs'),
  [
    '`/stream` c=64: first content p50 / p99',
    `${ms(g('firstContentP50'))} / ${ms(g('firstContentP99'))}`,
    `${ms(b('firstContentP50'))} / ${ms(b('firstContentP99'))}`,
    `p50 +${ms(g('firstContentP50') - b('firstContentP50'))} (target ≤ 1 ms: ${mark(g('firstContentP50') - b('firstContentP50') <= 1)})`,
  ],
  [
    '`/local-chat` c=64: requests/s',
    rate(g('localC64Rps')),
    rate(b('localC64Rps')),
    `${roundRatio('localC64Rps').toFixed(2)}x (target ≥ 0.8x: ${mark(roundRatio('localC64Rps') >= 0.8)})`,
  ],
  cpuRow('`/local-chat` c=64: server CPU per request', 'localC64CpuUs'),
  [
    `${OPEN_STREAMS} open streams: RSS per stream`,
    `${openFigures.gateway.rssPerStreamKiB?.toFixed(1)} KiB`,
    `${openFigures.baseline.rssPerStreamKiB?.toFixed(1)} KiB`,
    `target < 50 KiB: ${mark((openFigures.gateway.rssPerStreamKiB ?? 99) < 50)}`,
  ],
  [
    `${OPEN_STREAMS} open streams: event-loop delay p99 / max`,
    `${ms(openFigures.gateway.eventLoopP99 ?? 0)} / ${ms(openFigures.gateway.eventLoopMax ?? 0)}`,
    `${ms(openFigures.baseline.eventLoopP99 ?? 0)} / ${ms(openFigures.baseline.eventLoopMax ?? 0)}`,
    `target < 20 ms: ${mark((openFigures.gateway.eventLoopP99 ?? 99) < 20)}`,
  ],
]
const table = [
  '| scenario | gateway | baseline | comparison |',
  '|---|---|---|---|',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
].join('\n')

const version = (name: string) =>
  JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')).version
const minutes = ((performance.now() - started) / 60_000).toFixed(1)
const section = `## Gateway overhead (\`npm run bench\`)

Run of ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version},
fastify ${version('fastify')}, undici ${version('undici')}, wrk ${execFileSync('sh', ['-c', 'wrk -v 2>&1 | head -1'], { encoding: 'utf8' }).split(' ')[1] ?? ''}.
${ROUNDS} rounds of ${SECONDS} s per scenario, each scenario run on both servers back to back (order
alternating); figures are medians over rounds, ratios the median of the per-round ratios; servers pinned to CPU ${SERVER_CPU}, wrk, the
stream client and the fake upstream to CPU ${LOAD_CPU}; gateway LOG_LEVEL=${process.env.BENCH_LOG_LEVEL ?? 'info'} (the production default),
started as \`npm start\` runs it (\`--max-semi-space-size=32\`). Event-loop delay comes from \`monitorEventLoopDelay\`
sampling every 10 ms; its figures include that 10 ms interval (an idle loop reads ~10.2 ms).
The run took ${minutes} minutes.

${table}
`

const path = `${ROOT}BENCHMARKS.md`
const current = readFileSync(path, 'utf8')
const heading = '## Gateway overhead'
const start = current.indexOf(heading)
const next = start === -1 ? -1 : current.indexOf('\n## ', start + heading.length)
const updated =
  start === -1
    ? current.replace(/\n## /, `\n${section}\n## `)
    : current.slice(0, start) + section + (next === -1 ? '' : current.slice(next + 1))
writeFileSync(path, updated)
console.log(`\n${table}\n\nwritten to BENCHMARKS.md (${minutes} min)`)
