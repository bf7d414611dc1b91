import { afterAll, afterEach, beforeAll, beforeEach, expect, it, onTestFinished } from 'vitest'
import { longSseReply, okReply, startFakeOpenAI } from './fakes/openai.js'
import type { FakeUpstream } from './fakes/upstream.js'
import { describeWithRedis, type RedisServer, startRedis } from './redis-server.js'
import { logLines, startServersListening, stopServers } from './server-process.js'
import { waitFor } from './wait-for.js'

afterEach(stopServers)

const STARTUP_TIMEOUT_MS = 40_000
/** Two processes to start, then the test itself. */
const TEST_TIMEOUT_MS = 60_000

const chat = (url: string) =>
  fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  })

describeWithRedis('two server processes sharing one Redis', () => {
  let upstream: FakeUpstream
  beforeAll(async () => {
    upstream = await startFakeOpenAI()
  })
  afterAll(async () => {
    await upstream?.close()
  })
  beforeEach(() => {
    upstream.reset(okReply())
  })

  /** Two server processes on one fake OpenAI and one Redis, listening. */
  async function twoInstances(redis: RedisServer, environment: Record<string, string>) {
    const shared = {
      OPENAI_API_KEY: 'sk-test-key-1234567890',
      OPENAI_BASE_URL: upstream.url,
      REDIS_URL: redis.url,
      ...environment,
    }
    return startServersListening(2, shared, STARTUP_TIMEOUT_MS)
  }

  async function ownRedis(): Promise<RedisServer> {
    const redis = await startRedis()
    onTestFinished(() => redis.stop())
    return redis
  }

  it(
    'a limit of N across both instances admits exactly N requests, the rest get 429',
    async () => {
      const { urls } = await twoInstances(await ownRedis(), { RATE_LIMIT_MAX: '6' })
      // Sent at once, half to each instance.
      const answers = await Promise.all(
        Array.from({ length: 14 }, (_, index) => chat(urls[index % 2] as string)),
      )
      const statuses = answers.map((answer) => answer.status).sort()
      expect(statuses.filter((status) => status === 200)).toHaveLength(6)
      expect(statuses.filter((status) => status === 429)).toHaveLength(8)
      const refused = answers.find((answer) => answer.status === 429)
      expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(refused?.headers.get('ratelimit-limit')).toBe('6')
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'the stream limit holds across both instances',
    async () => {
      upstream.reset(longSseReply(10, 'word ', { stallAfter: 8 }))
      const { urls } = await twoInstances(await ownRedis(), { STREAMS_PER_CLIENT: '2' })
      const [first, second] = urls as [string, string]
      const controller = new AbortController()
      onTestFinished(() => controller.abort())
      const open = [
        await fetch(`${first}/stream?prompt=hi`, { signal: controller.signal }),
        await fetch(`${second}/stream?prompt=hi`, { signal: controller.signal }),
      ]
      expect(open.map((response) => response.status)).toEqual([200, 200])
      for (const url of urls) {
        const refused = await fetch(`${url}/stream?prompt=hi`, { headers: { connection: 'close' } })
        expect(refused.status).toBe(429)
        expect(await refused.json()).toEqual({
          detail: 'Too many requests: 2 streams already open for this client; close one first',
        })
      }
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'Redis killed mid-test: both keep serving (fail open) and say so in their log',
    async () => {
      const redis = await ownRedis()
      const { servers, urls } = await twoInstances(redis, { RATE_LIMIT_MAX: '100' })
      for (const url of urls) expect((await chat(url)).status).toBe(200)
      await redis.stop()
      for (const url of urls) expect((await chat(url)).status).toBe(200)
      for (const server of servers) {
        await waitFor(() =>
          logLines(server).some(
            (line) => line.level === 40 && String(line.msg).startsWith('Redis unreachable: the request rate'),
          ),
        )
      }
    },
    TEST_TIMEOUT_MS,
  )
})
