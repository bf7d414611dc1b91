import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait-for.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSX = join(ROOT, 'node_modules/.bin/tsx')
const SERVER = join(ROOT, 'src/server.ts')

export interface RunningServer {
  child: ChildProcess
  output: () => string
}

const running: ChildProcess[] = []
const directories: string[] = []

/** Ends every server process started since the last call and removes their directories: a file's `afterEach`. */
export async function stopServers(): Promise<void> {
  // tsx runs the server in a child of its own: end the whole process group, not just tsx.
  const exits = running.splice(0).map(async (child) => {
    const exited = child.exitCode !== null || child.signalCode !== null ? undefined : once(child, 'exit')
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // the whole group is already gone
    }
    await exited
  })
  await Promise.all(exits)
  await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })))
}

/** A temporary directory, removed after the test. */
export async function temporaryDirectory(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix))
  directories.push(directory)
  return directory
}

/** Starts src/server.ts as a real process, in an empty directory so no .env is read. */
export async function startServer(environment: Record<string, string>): Promise<RunningServer> {
  const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...inherited } = process.env
  const child = spawn(TSX, [SERVER], {
    detached: true,
    cwd: await temporaryDirectory('genai-server-'),
    env: { ...inherited, PORT: '0', LOG_LEVEL: 'info', ...environment },
  })
  running.push(child)
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  return { child, output: () => output }
}

/** Starts `count` server processes with one environment, and resolves once each listens, with their URLs. */
export async function startServersListening(
  count: number,
  environment: Record<string, string>,
  timeout: number,
): Promise<{ servers: RunningServer[]; urls: string[] }> {
  const servers: RunningServer[] = []
  for (let index = 0; index < count; index++) servers.push(await startServer(environment))
  // Processes starting at once on a busy 2-core machine: each may take several seconds.
  const urls = await Promise.all(servers.map((server) => listeningUrl(server, timeout)))
  return { servers, urls }
}

const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/

/** The server's URL once it says it listens; fails as soon as it exits instead. */
export async function listeningUrl(server: RunningServer, timeout = 10_000): Promise<string> {
  const exited = () => server.child.exitCode !== null || server.child.signalCode !== null
  await waitFor(() => LISTENING.test(server.output()) || exited(), { timeout })
  const url = LISTENING.exec(server.output())?.[1]
  if (!url) throw new Error(`server did not start:\n${server.output()}`)
  return url
}

/** The server's JSON log lines so far. */
export function logLines(server: RunningServer): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}
