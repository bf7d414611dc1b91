/** Starting and probing the processes a benchmark measures. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const ROOT = new URL('..', import.meta.url).pathname

/**
 * Builds a git ref's sources beside ours, with our node_modules (its dependencies are a subset), in a
 * temporary folder removed when the benchmark exits; returns the folder (its server is `dist/server.js`).
 */
export function buildRef(ref: string, label: string): string {
  const directory = join(tmpdir(), `bench-${label}-base-${process.pid}`)
  mkdirSync(directory)
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }))
  execFileSync('sh', ['-c', `git archive ${ref} | tar -x -C ${directory}`], { cwd: ROOT })
  symlinkSync(join(ROOT, 'node_modules'), join(directory, 'node_modules'))
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: directory })
  return directory
}

// Whatever happens to the benchmark, the processes it started must not outlive it.
const started = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL')
})

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface Running {
  child: ChildProcess
  url: string
  /** Event-loop delay since the last call, and RSS and heap now (via the preloaded probe). */
  probe(): Promise<{ p50: number; p99: number; max: number; rss: number; heapUsed: number; external: number }>
  /** CPU time the process has used so far (user + system), in milliseconds. */
  cpuMs(): number
  stop(): Promise<void>
}

/** Starts `node <args>` pinned to `cpu`, waits for GET /health (or any answer) on `port`. */
export async function startNode(
  name: string,
  args: string[],
  options: { cpu: string; port: number; env: Record<string, string> },
): Promise<Running> {
  const probeFile = join(tmpdir(), `probe-${name}-${process.pid}.json`)
  const logs = openSync('/dev/null', 'w')
  const child = spawn('taskset', ['-c', options.cpu, process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(options.port), PROBE_FILE: probeFile },
    stdio: ['ignore', logs, 'inherit'],
  })
  started.add(child)
  child.once('exit', () => started.delete(child))
  const url = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + 20_000
  while (true) {
    try {
      await fetch(`${url}/health`)
      break
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`)
      await sleep(100)
    }
  }
  return {
    child,
    url,
    async probe() {
      // The probe writes its file when the signal reaches it: a loaded server can take longer than any
      // fixed wait, and a read in the middle of the write sees half a file. Wait for a whole new one.
      rmSync(probeFile, { force: true })
      child.kill('SIGUSR2')
      const deadline = Date.now() + 10_000
      while (true) {
        await sleep(100)
        try {
          return JSON.parse(readFileSync(probeFile, 'utf8'))
        } catch (error) {
          if (Date.now() > deadline) throw error
        }
      }
    },
    cpuMs() {
      // Fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux). taskset execs
      // node, so the child's pid is the server's.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      return (Number(fields[11]) + Number(fields[12])) * 10
    },
    async stop() {
      child.kill('SIGTERM')
      await Promise.race([once(child, 'exit'), sleep(5_000)])
      child.kill('SIGKILL')
    },
  }
}

/** The environment the built gateway runs under in the benchmarks: production, pointed at the fake. */
export function gatewayEnvironment(fakeUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    OPENAI_API_KEY: 'sk-bench-not-a-real-key',
    OPENAI_BASE_URL: `${fakeUrl}/v1`,
    OLLAMA_HOST: fakeUrl,
    RAG_DATA_DIR: '/tmp/bench-rag-data',
    // One client sending thousands of requests and streams: the per-client limits off, as before they
    // existed. What the limits cost is bench/limits.ts's question (it turns them on).
    RATE_LIMIT_MAX: '0',
    STREAMS_PER_CLIENT: '0',
  }
}

/** Server CPU per request (or stream) in µs, over one load run: what a noisy neighbour moves least. */
export async function withCpu<T>(
  server: Running,
  load: () => Promise<T>,
  count: (result: T) => number,
): Promise<{ result: T; cpuUs: number }> {
  const before = server.cpuMs()
  const result = await load()
  return { result, cpuUs: ((server.cpuMs() - before) * 1000) / count(result) }
}
