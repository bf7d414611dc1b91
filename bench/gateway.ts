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
import { freePort, ROOT, type Running, startNode } from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
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
const servers: Record<'gateway' | 'baseline', Running> = {
  // The V8 flag production runs with (npm start, Dockerfile).
  gateway: await startNode(
    'gateway',
    ['--max-semi-space-size=64', '--import', './bench/event-loop-probe.mjs', 'dist/server.js'],
    {
      cpu: SERVER_CPU,
      port: await freePort(),
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
        OPENAI_API_KEY: 'sk-bench-not-a-real-key',
        OPENAI_BASE_URL: `${fake.url}/v1`,
        OLLAMA_HOST: fake.url,
        RAG_DATA_DIR: '/tmp/bench-rag-data',
      },
    },
  ),
  baseline: await startNode(
    'baseline',
    ['--import', 'tsx', '--import', './bench/event-loop-probe.mjs', 'bench/baseline.ts'],
    {
      cpu: SERVER_CPU,
      port: await freePort(),
      env: { UPSTREAM_URL: fake.url },
    },
  ),
}

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }], model: 'gpt-4.1-mini' })
const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })
const directBody = JSON.stringify({
  model: 'gpt-4.1-mini',
  input: [{ role: 'user', content: 'Say hi' }],
  store: false,
})

type Figures = Record<string, number>
const samples: Record<string, Figures[]> = { gateway: [], baseline: [], direct: [] }

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? (['gateway', 'baseline'] as const) : (['baseline', 'gateway'] as const)
  const direct = await wrk(`${fake.url}/v1/responses`, { connections: 1, seconds: SECONDS, body: directBody })
  samples.direct?.push({ chatC1P50: direct.p50Ms, chatC1P99: direct.p99Ms })
  for (const name of order) {
    const server = servers[name]
    const { url } = server
    /** Server CPU per request in µs: steadier than requests/s when a neighbour takes the core. */
    const cpuPer = async <T>(load: () => Promise<T>, count: (result: T) => number) => {
      const before = server.cpuMs()
      const result = await load()
      return { result, cpuUs: ((server.cpuMs() - before) * 1000) / count(result) }
    }
    const chatC1 = await wrk(`${url}/chat`, { connections: 1, seconds: SECONDS, body: chatBody })
    const chatC64 = await cpuPer(
      () => wrk(`${url}/chat`, { connections: 64, seconds: SECONDS, body: chatBody }),
      (load) => load.requests,
    )
    const localC64 = await cpuPer(
      () => wrk(`${url}/local-chat?model=llama3.2&prompt=hi`, { connections: 64, seconds: SECONDS }),
      (load) => load.requests,
    )
    const streams = await cpuPer(
      () => streamLoad(`${url}/stream`, streamBody, 64, SECONDS),
      (load) => load.streams,
    )
    samples[name]?.push({
      chatC1P50: chatC1.p50Ms,
      chatC1P99: chatC1.p99Ms,
      chatC64Rps: chatC64.result.requestsPerSecond,
      chatC64P50: chatC64.result.p50Ms,
      chatC64P99: chatC64.result.p99Ms,
      chatC64CpuUs: chatC64.cpuUs,
      localC64Rps: localC64.result.requestsPerSecond,
      localC64CpuUs: localC64.cpuUs,
      streamsPerSecond: streams.result.streamsPerSecond,
      streamCpuUs: streams.cpuUs,
      firstContentP50: streams.result.firstContentP50Ms,
      firstContentP99: streams.result.firstContentP99Ms,
    })
    console.log(
      `round ${round + 1}/${ROUNDS} ${name}: ${JSON.stringify(samples[name]?.at(-1), (_key, value) => (typeof value === 'number' ? Number(value.toFixed(3)) : value))}`,
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
const openFigures = {
  gateway: await openStreamFigures(servers.gateway),
  baseline: await openStreamFigures(servers.baseline),
}

await Promise.all([servers.gateway.stop(), servers.baseline.stop(), fake.stop()])

const median = (name: string, key: string) => {
  const values = (samples[name] ?? []).map((figures) => figures[key] ?? Number.NaN).sort((a, b) => a - b)
  return values[Math.floor(values.length / 2)] ?? Number.NaN
}
const g = (key: string) => median('gateway', key)
const b = (key: string) => median('baseline', key)
const ms = (value: number) => `${value.toFixed(2)} ms`
const rate = (value: number) => value.toFixed(0)
const ratio = (gateway: number, baseline: number) => `${(gateway / baseline).toFixed(2)}x`
const mark = (ok: boolean) => (ok ? 'met' : '**missed**')
/** The same work measured as CPU: the baseline's share of the gateway's is the throughput it allows. */
const cpuRow = (label: string, key: string) => [
  label,
  `${g(key).toFixed(0)} µs`,
  `${b(key).toFixed(0)} µs`,
  `baseline / gateway: ${ratio(b(key), g(key))}`,
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
    `${ratio(g('chatC64Rps'), b('chatC64Rps'))} (target ≥ 0.8x: ${mark(g('chatC64Rps') / b('chatC64Rps') >= 0.8)})`,
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
    `${ratio(g('streamsPerSecond'), b('streamsPerSecond'))} (target ≥ 0.8x: ${mark(g('streamsPerSecond') / b('streamsPerSecond') >= 0.8)})`,
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
    `${ratio(g('localC64Rps'), b('localC64Rps'))} (target ≥ 0.8x: ${mark(g('localC64Rps') / b('localC64Rps') >= 0.8)})`,
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
${ROUNDS} alternating rounds of ${SECONDS} s per scenario, medians; servers pinned to CPU ${SERVER_CPU}, wrk, the
stream client and the fake upstream to CPU ${LOAD_CPU}; gateway LOG_LEVEL=${process.env.BENCH_LOG_LEVEL ?? 'info'} (the production default),
started as \`npm start\` runs it (\`--max-semi-space-size=64\`). Event-loop delay comes from \`monitorEventLoopDelay\`
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
