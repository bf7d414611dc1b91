import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest'
import { REPLAY_REDIS_PREFIX } from '../../../src/plugins/resume/redis-replay-log.js'
import { longSseReply, sseReply, startFakeOpenAI } from '../../fakes/openai.js'
import type { FakeUpstream } from '../../fakes/upstream.js'
import { serveTestApp, testConfig } from '../../helpers.js'
import { describeWithRedis, type RedisServer, startRedis } from '../../redis-server.js'
import { readSse } from '../../sse-client.js'
import { waitFor } from '../../wait-for.js'

describeWithRedis('the Redis replay log, two apps sharing one Redis', () => {
  let upstream: FakeUpstream
  let redis: RedisServer
  let client: Redis
  beforeAll(async () => {
    upstream = await startFakeOpenAI()
    redis = await startRedis()
    client = new Redis(redis.url)
  })
  afterAll(async () => {
    client?.disconnect()
    await redis?.stop()
    await upstream?.close()
  })

  const serve = (environment: Record<string, string> = {}) =>
    serveTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, REDIS_URL: redis.url, ...environment }))

  it('keeps the events as stream entries numbered by seq, then expires them after the retention', async () => {
    upstream.reset(sseReply())
    const { base } = await serve({ STREAM_RESUME_RETENTION_MS: '5000' })
    const response = await fetch(`${base}/stream?prompt=hi`)
    const streamId = response.headers.get('x-stream-id') as string
    const stream = await readSse(response)
    const key = REPLAY_REDIS_PREFIX + streamId
    await waitFor(async () => (await client.hget(`${key}:meta`, 'end')) === '12')
    const entries = await client.xrange(key, '-', '+')
    expect(entries.map(([id]) => id)).toEqual(stream.frames.map((_, index) => `${index + 1}-0`))
    expect(JSON.parse(entries[1]?.[1][1] as string)).toEqual({ type: 'text-delta', text: 'Hi' })
    const ttl = await client.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(5000)
  })

  it('the other app follows a running stream through Redis to its end, then answers 204 after it', async () => {
    upstream.reset(longSseReply(30, 'word ', { delayMs: 20 }))
    const [one, other] = [await serve(), await serve()]
    const response = await fetch(`${one.base}/stream?prompt=hi`)
    const streamId = response.headers.get('x-stream-id') as string
    const [original, followed] = await Promise.all([
      readSse(response),
      fetch(`${other.base}/stream/${streamId}`).then(readSse),
    ])
    expect(followed.frames).toEqual(original.frames)
    expect(followed.text).toBe('word '.repeat(30))
    const after = await fetch(`${other.base}/stream/${streamId}`, {
      headers: { 'last-event-id': original.frames.at(-1)?.id as string },
    })
    expect(after.status).toBe(204)
    expect(upstream.received).toHaveLength(1)
  })

  it('DELETE on the other app cancels the stream where it runs: the upstream is aborted, followers get the last frame', async () => {
    upstream.reset(longSseReply(2_000, 'word ', { delayMs: 20 }))
    const [one, other] = [await serve(), await serve()]
    const abandonedBefore = upstream.abandonedRequests
    const response = await fetch(`${one.base}/stream?prompt=hi`)
    const streamId = response.headers.get('x-stream-id') as string
    const reading = readSse(response)
    const deleted = await fetch(`${other.base}/stream/${streamId}`, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect((await reading).last).toEqual({ error: 'stream_error', detail: 'The stream was cancelled' })
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
  })

  it('a follower on the other app keeps the stream going past the grace of the app producing it', async () => {
    upstream.reset(longSseReply(30, 'word ', { delayMs: 20 }))
    const environment = { STREAM_RESUME_GRACE_MS: '50' }
    const [one, other] = [await serve(environment), await serve(environment)]
    const controller = new AbortController()
    onTestFinished(() => controller.abort())
    const response = await fetch(`${one.base}/stream?prompt=hi`, { signal: controller.signal })
    const streamId = response.headers.get('x-stream-id') as string
    const following = fetch(`${other.base}/stream/${streamId}`).then(readSse)
    // The follower has flagged the stream before its producer's only client leaves.
    await waitFor(async () => (await client.exists(`${REPLAY_REDIS_PREFIX}${streamId}:watch`)) === 1)
    controller.abort()
    const stream = await following
    expect(stream.text).toBe('word '.repeat(30))
    expect(stream.last).toEqual({ done: true })
  })

  it('frames trimmed from Redis by the per-stream cap are a 410 for a client that needs them', async () => {
    upstream.reset(longSseReply(400, 'word '))
    // 1 KiB is 16 entries: MAXLEN ~ trims whole nodes of 100, so the first ones go.
    const environment = { STREAM_RESUME_MAX_BYTES_PER_STREAM: '1024' }
    const [one, other] = [await serve(environment), await serve(environment)]
    const response = await fetch(`${one.base}/stream?prompt=hi`)
    const streamId = response.headers.get('x-stream-id') as string
    await readSse(response)
    const key = REPLAY_REDIS_PREFIX + streamId
    await waitFor(async () => (await client.hget(`${key}:meta`, 'end')) !== null)
    const gone = await fetch(`${other.base}/stream/${streamId}?last_event_id=${streamId}:1`)
    expect(gone.status).toBe(410)
    const [[firstId] = ['']] = await client.xrange(key, '-', '+', 'COUNT', 1)
    const rest = await readSse(
      await fetch(
        `${other.base}/stream/${streamId}?last_event_id=${streamId}:${Number.parseInt(firstId, 10) - 1}`,
      ),
    )
    expect(rest.last).toEqual({ done: true })
  })

  it('a stream unknown to Redis is a 410 on any app', async () => {
    const { base } = await serve()
    expect((await fetch(`${base}/stream/${randomBytes(16).toString('base64url')}`)).status).toBe(410)
  })
})
