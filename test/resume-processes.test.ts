import { afterAll, afterEach, beforeAll, expect, it, onTestFinished } from 'vitest'
import { longSseReply, startFakeOpenAI } from './fakes/openai.js'
import type { FakeUpstream } from './fakes/upstream.js'
import { describeWithRedis, type RedisServer, startRedis } from './redis-server.js'
import { resumingClient, stopped } from './resume-client.js'
import { startServersListening, stopServers } from './server-process.js'
import { readSse } from './sse-client.js'
import { waitFor } from './wait-for.js'

afterEach(stopServers)

const STARTUP_TIMEOUT_MS = 40_000
/** Two processes to start, then the test itself. */
const TEST_TIMEOUT_MS = 90_000
const DELTAS = 60
const ANSWER = 'word '.repeat(DELTAS)

describeWithRedis('resumable streams across two server processes sharing one Redis', () => {
  let upstream: FakeUpstream
  beforeAll(async () => {
    upstream = await startFakeOpenAI()
  })
  afterAll(async () => {
    await upstream?.close()
  })

  async function twoInstances() {
    const redis: RedisServer = await startRedis()
    onTestFinished(() => redis.stop())
    const shared = {
      OPENAI_API_KEY: 'sk-test-key-1234567890',
      OPENAI_BASE_URL: upstream.url,
      REDIS_URL: redis.url,
      SHUTDOWN_GRACE_MS: '30000',
    }
    const { servers, urls } = await startServersListening(2, shared, STARTUP_TIMEOUT_MS)
    return { servers, urls: urls as [string, string] }
  }

  it(
    'a stream started on one instance resumes on the other with Last-Event-ID: the rest, once',
    async () => {
      upstream.reset(longSseReply(DELTAS, 'word ', { delayMs: 20 }))
      const { urls } = await twoInstances()
      const [first, second] = urls
      const controller = new AbortController()
      const response = await fetch(`${first}/stream?prompt=hi`, { signal: controller.signal })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      let received = ''
      while (!received.includes('"content"'))
        received += new TextDecoder().decode((await reader.read()).value)
      const lastId = [...received.matchAll(/id: (\S+)/g)].at(-1)?.[1] as string
      controller.abort()
      const rest = await readSse(
        await fetch(`${second}/stream?prompt=hi`, { headers: { 'last-event-id': lastId } }),
      )
      const before = (received.match(/"content"/g) ?? []).length
      expect(rest.frames.filter((frame) => frame.data.content !== undefined)).toHaveLength(DELTAS - before)
      expect(rest.last).toEqual({ done: true })
      expect(upstream.received).toHaveLength(1)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'SIGTERM mid-stream: the EventSource is told to reconnect, resumes on the other instance, and has the whole text once',
    async () => {
      upstream.reset(longSseReply(DELTAS, 'word ', { delayMs: 30 }))
      const { servers, urls } = await twoInstances()
      const [first, second] = urls
      // The first connection goes to the first instance; reconnections, as a balancer would, to the second.
      const client = resumingClient(`${first}/stream?prompt=hi`, {
        route: (url, attempt) => (attempt === 0 ? url : url.replace(first, second)),
      })
      await waitFor(() => client.messages.length >= 5, { timeout: 20_000 })
      servers[0]?.child.kill('SIGTERM')
      await stopped(client, 30_000)
      expect(client.text()).toBe(ANSWER)
      const seqs = client.messages.map((message) => Number(message.id.split(':')[1]))
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(client.connections.map((connection) => connection.status)).toEqual([200, 200, 204])
      expect(upstream.received).toHaveLength(1)
      // The first instance finished the generation into the log, then exited.
      await waitFor(() => servers[0]?.child.exitCode !== null, { timeout: 30_000 })
    },
    TEST_TIMEOUT_MS,
  )
})
