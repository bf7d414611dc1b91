import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, constants } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe } from 'vitest'
import { waitFor } from './wait-for.js'

/** `redis-server` on the PATH (Debian's package installs /usr/bin/redis-server), or undefined. */
function findRedisServer(): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(directory, 'redis-server')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return undefined
}

const REDIS_SERVER = findRedisServer()
/** CI sets it (.ci/run): a missing redis-server then fails the tests instead of skipping them. */
const REQUIRED = process.env.REQUIRE_REDIS === '1'

/**
 * `describe` for suites that need a real Redis: skipped with a visible notice when `redis-server` is
 * missing, unless REQUIRE_REDIS=1, which runs them so they fail.
 */
export function describeWithRedis(name: string, suite: () => void): void {
  if (!REDIS_SERVER && !REQUIRED) {
    console.warn(`redis-server not found on PATH: skipping "${name}" (apt-get install redis-server)`)
  }
  describe.skipIf(!REDIS_SERVER && !REQUIRED)(name, suite)
}

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string
  port: number
  /** Kills it at once (a crash; also what `stop` does), and waits for the process to exit. */
  stop(): Promise<void>
}

/**
 * Registers hooks that start a redis-server for the enclosing suite, with an `admin` client of the test's
 * own that empties it before each test; both are stopped after the suite.
 */
export function useRedis(): { redis: RedisServer; admin: Redis } {
  const context = {} as { redis: RedisServer; admin: Redis }
  beforeAll(async () => {
    context.redis = await startRedis()
    context.admin = new Redis(context.redis.url)
  })
  afterAll(async () => {
    await context.admin?.quit()
    await context.redis?.stop()
  })
  beforeEach(async () => {
    await context.admin.flushall()
  })
  return context
}

/** Starts a throwaway redis-server on a free loopback port, without persistence; resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  if (!REDIS_SERVER) throw new Error('redis-server is required (REQUIRE_REDIS=1) but not on PATH')
  const port = await freePort()
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const stop = () => stopProcess(child)
  try {
    await waitFor(() => answersPing(port), { timeout: 10_000, interval: 20 })
  } catch (error) {
    await stop()
    throw error
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** A port the kernel just handed out and released. */
async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Whether a Redis on `port` answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}
