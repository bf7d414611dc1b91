/**
 * `npm run bench:instructions`: instructions the server executes per request, counted by Valgrind's
 * cachegrind (`--cache-sim=no`), for A/B comparisons this shared machine's load cannot move: wall and CPU
 * time change with the neighbours, executed instructions do not (within ~1 %). The built server
 * (dist/server.js, `npm run build` first) runs under cachegrind against the fake upstream
 * (a normal process); a client sends BENCH_FEW, then on a fresh server BENCH_MANY requests (8 at a time);
 * the difference of the two totals over the difference of the counts is the per-request figure, start-up
 * and warm-up cancelling out. Each variant is a set of environment variables, and `dist=<folder>` for
 * another build's server (e.g. one bench/processes.ts buildRef made):
 *   BENCH_ROUTE=/stream BENCH_VARIANTS='off:STREAM_RESUME=false;memory:' npm run bench:instructions
 *   BENCH_ROUTE=/chat BENCH_VARIANTS='before:dist=/tmp/before/dist;main:' npm run bench:instructions
 * BENCH_BODY is a JSON body (default `{"prompt":"hi"}` for /stream and /safe, messages for /chat).
 * Slow (valgrind runs the server ~30x slower): a variant takes a minute or two. Needs `valgrind`.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { freePort, gatewayEnvironment, ROOT, startNode } from './processes.js'

const ROUTE = process.env.BENCH_ROUTE ?? '/stream'
const FEW = Number(process.env.BENCH_FEW ?? 300)
const MANY = Number(process.env.BENCH_MANY ?? 1_300)
const BODY =
  process.env.BENCH_BODY ??
  (ROUTE.startsWith('/chat') ? '{"messages":[{"role":"user","content":"hi"}]}' : '{"prompt":"hi"}')
// One thread and a fixed GC schedule: otherwise background compilation and the heap's growth heuristics,
// which follow wall time, move the count by tens of percent from run to run.
const NODE_FLAGS = (
  process.env.BENCH_NODE_FLAGS ?? '--single-threaded --predictable-gc-schedule --max-semi-space-size=32'
).split(' ')
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'default:').split(';').map((entry) => {
  const [name = '', settings = ''] = entry.split(':')
  const { dist = join(ROOT, 'dist'), ...env } = Object.fromEntries(
    settings
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  )
  return { name, env, dist }
})

const fake = await startNode('fake', ['--import', 'tsx', 'bench/fake-upstream.ts'], {
  cpu: '0-1',
  port: await freePort(),
  env: { DELTAS: '20', DELAY_MS: '0' },
})

/** Runs the server under cachegrind, sends `count` requests, stops it: the instructions it executed. */
async function instructions(dist: string, env: Record<string, string>, count: number): Promise<number> {
  const port = await freePort()
  const out = join(tmpdir(), `cachegrind-${process.pid}-${port}.out`)
  const server = spawn(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      `--cachegrind-out-file=${out}`,
      'node',
      ...NODE_FLAGS,
      join(dist, 'server.js'),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...gatewayEnvironment(fake.url), PORT: String(port), LOG_LEVEL: 'info', ...env },
      stdio: 'ignore',
    },
  )
  const base = `http://127.0.0.1:${port}`
  const agent = new Agent({ connections: 8 })
  for (let tries = 0; ; tries++) {
    try {
      await request(`${base}/health`, { dispatcher: agent }).then((response) => response.body.dump())
      break
    } catch (error) {
      if (tries > 600) throw error
      await sleep(500)
    }
  }
  let sent = 0
  const worker = async () => {
    while (sent < count) {
      sent++
      const response = await request(`${base}${ROUTE}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: BODY,
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`${ROUTE} answered ${response.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  await agent.close()
  server.kill('SIGINT')
  await once(server, 'exit')
  const total = /^summary: (\d+)/m.exec(readFileSync(out, 'utf8'))?.[1]
  rmSync(out, { force: true })
  if (total === undefined) throw new Error('cachegrind wrote no summary')
  return Number(total)
}

const results: { name: string; perRequest: number }[] = []
for (const { name, env, dist } of VARIANTS) {
  const few = await instructions(dist, env, FEW)
  const many = await instructions(dist, env, MANY)
  const perRequest = (many - few) / (MANY - FEW)
  results.push({ name, perRequest })
  console.log(`${name}: ${(perRequest / 1e3).toFixed(0)} k instructions per ${ROUTE} request`)
}
const [first] = results
if (first && results.length > 1) {
  for (const { name, perRequest } of results.slice(1))
    console.log(`${name} / ${first.name}: ${(perRequest / first.perRequest).toFixed(3)}x`)
}
await fake.stop()
