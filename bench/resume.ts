/**
 * `npm run bench:resume`: what resumable streams (issue 13) cost. Gateway processes built from this
 * branch on one fake upstream (bench/fake-upstream.ts): `off` (STREAM_RESUME=false: no log, no stage),
 * `memory` (the default: the replay log in memory) and, when `redis-server` is on the PATH, `redis` (the
 * log in a throwaway Redis, REDIS_URL). Per round, as bench/access.ts: `/stream` c=64 streams/s and the
 * server's CPU per stream, rounds rotating the order after a discarded warm-up; figures are medians over
 * rounds and ratios the median of per-round ratios (target: memory / off within 10 %). Then, on fresh
 * processes, RSS per open stream with BENCH_OPEN_STREAMS slow streams open (target: under 50 KiB plus
 * the log's own bound). BENCH_ROUNDS, BENCH_SECONDS, BENCH_OPEN_STREAMS, BENCH_VARIANTS=off,memory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStreams, streamLoad } from './load.js'
import { freePort, gatewayEnvironment, ROOT, type Running, startNode, withCpu } from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const OPEN_STREAMS = Number(process.env.BENCH_OPEN_STREAMS ?? 1_000)

console.log('building this branch...')
execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' })

const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: '1',
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

/** A throwaway redis-server without persistence, when one is installed. */
async function startRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  const binary = (process.env.PATH ?? '')
    .split(delimiter)
    .map((directory) => join(directory, 'redis-server'))
    .find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK)
        return true
      } catch {
        return false
      }
    })
  if (!binary) return undefined
  const port = await freePort()
  const child = spawn(
    'taskset',
    ['-c', '1', binary, '--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  await sleep(500)
  return { url: `redis://127.0.0.1:${port}`, child }
}
const redis = await startRedis()
if (!redis) console.log('redis-server not found: the redis variant is skipped')

const environments: Record<string, Record<string, string>> = {
  off: { STREAM_RESUME: 'false' },
  memory: {},
  ...(redis ? { redis: { REDIS_URL: redis.url } } : {}),
}
const chosen = process.env.BENCH_VARIANTS?.split(',')
const names = Object.keys(environments).filter((name) => !chosen || chosen.includes(name))

function gateway(name: string): Promise<Running> {
  return freePort().then((port) =>
    startNode(
      name,
      ['--max-semi-space-size=32', '--import', './bench/event-loop-probe.mjs', 'dist/server.js'],
      {
        cpu: '0',
        port,
        env: {
          ...gatewayEnvironment(fake.url),
          RAG_DATA_DIR: join(tmpdir(), `bench-resume-rag-${name}-${process.pid}`),
          ...environments[name],
        },
      },
    ),
  )
}

const streamBody = JSON.stringify({ prompt: 'Say hi', model: 'gpt-4.1-mini' })
type Figures = Record<string, number>
const samples: Record<string, Figures[]> = Object.fromEntries(names.map((name) => [name, []]))

async function measure(server: Running): Promise<Figures> {
  const { result, cpuUs } = await withCpu(
    server,
    () => streamLoad(`${server.url}/stream`, streamBody, 64, SECONDS),
    (load) => load.streams,
  )
  return { streamsPerSecond: result.streamsPerSecond, streamCpuUs: cpuUs }
}

const servers: Record<string, Running> = {}
for (const name of names) servers[name] = await gateway(name)
for (const name of names) await measure(servers[name] as Running)
for (let round = 0; round < ROUNDS; round++) {
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
  for (const name of order) {
    const figures = await measure(servers[name] as Running)
    samples[name]?.push(figures)
    console.log(
      `round ${round + 1}/${ROUNDS} ${name}: ${JSON.stringify(figures, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))}`,
    )
  }
}
await Promise.all(Object.values(servers).map((server) => server.stop()))

/** RSS per open stream on a fresh process (after load rounds a heap has room to spare). */
async function rssPerOpenStream(name: string): Promise<number> {
  const server = await gateway(`${name}-open`)
  try {
    await server.probe()
    const idle = await server.probe()
    const sockets = await openStreams(
      `${server.url}/stream`,
      JSON.stringify({ prompt: 'hi', model: 'slow' }),
      OPEN_STREAMS,
    )
    await sleep(5_000)
    const open = await server.probe()
    for (const socket of sockets) socket.destroy()
    return (open.rss - idle.rss) / OPEN_STREAMS / 1024
  } finally {
    await server.stop()
  }
}
const rss: Record<string, number> = {}
for (const name of names) rss[name] = await rssPerOpenStream(name)
await fake.stop()
redis?.child.kill('SIGKILL')

const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const median = (name: string, figure: string) =>
  middle((samples[name] ?? []).map((f) => f[figure] ?? Number.NaN))
const ratio = (name: string, figure: string) =>
  middle(
    (samples[name] ?? []).map(
      (f, round) => (f[figure] ?? Number.NaN) / (samples.off?.[round]?.[figure] ?? Number.NaN),
    ),
  )
const others = names.filter((name) => name !== 'off' && names.includes('off'))
const rows = [
  [
    '`/stream` c=64 streams/s',
    ...names.map((name) => median(name, 'streamsPerSecond').toFixed(0)),
    ...others.map((name) => `${ratio(name, 'streamsPerSecond').toFixed(3)}x`),
  ],
  [
    '`/stream` c=64 server CPU per stream',
    ...names.map((name) => `${median(name, 'streamCpuUs').toFixed(0)} µs`),
    ...others.map((name) => `${ratio(name, 'streamCpuUs').toFixed(3)}x`),
  ],
  [
    `RSS per open stream (${OPEN_STREAMS} open)`,
    ...names.map((name) => `${rss[name]?.toFixed(1)} KiB`),
    ...others.map(() => ''),
  ],
]
console.log(
  `\n${ROUNDS} rounds of ${SECONDS} s\n\n| figure | ${names.join(' | ')} | ${others.map((name) => `${name} / off`).join(' | ')} |\n` +
    `|---|${names.map(() => '---|').join('')}${others.map(() => '---|').join('')}\n` +
    rows.map((row) => `| ${row.join(' | ')} |`).join('\n'),
)
