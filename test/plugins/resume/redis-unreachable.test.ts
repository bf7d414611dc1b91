import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { longSseReply, startFakeOpenAI } from '../../fakes/openai.js'
import type { FakeUpstream } from '../../fakes/upstream.js'
import { serveTestApp, testConfig } from '../../helpers.js'
import { readSse } from '../../sse-client.js'

/** A well-formed stream id no stream has (ids are 128 random bits in base64url). */
const unknownStreamId = () => randomBytes(16).toString('base64url')

let upstream: FakeUpstream
beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})

/** An app whose REDIS_URL refuses connections (port 9): the replay log's Redis is down. */
const serveWithoutRedis = () =>
  serveTestApp(
    testConfig({
      OPENAI_BASE_URL: upstream.url,
      REDIS_URL: 'redis://127.0.0.1:9',
      RATE_LIMIT_MAX: '0',
      STREAMS_PER_CLIENT: '0',
    }),
  )

it('Redis down: streams still stream and resume on their own instance, and the log says they are not shared', async () => {
  upstream.reset(longSseReply(10, 'word '))
  const { base, logs } = await serveWithoutRedis()
  const whole = await readSse(await fetch(`${base}/stream?prompt=hi`))
  expect(whole.text).toBe('word '.repeat(10))
  const rest = await readSse(
    await fetch(`${base}/stream?prompt=hi`, { headers: { 'last-event-id': whole.frames[5]?.id as string } }),
  )
  expect(rest.frames).toEqual(whole.frames.slice(6))
  expect(logs.some((line) => line.msg === 'Redis unreachable: a resumable stream is not shared')).toBe(true)
  expect(upstream.received).toHaveLength(1)
})

it('Redis down: a stream this instance does not hold is a 503 {"detail"}, not a 500 nor a new generation', async () => {
  upstream.reset(longSseReply(10, 'word '))
  const { base } = await serveWithoutRedis()
  for (const response of [
    await fetch(`${base}/stream/${unknownStreamId()}`),
    await fetch(`${base}/stream/${unknownStreamId()}`, { method: 'DELETE' }),
  ]) {
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({
      detail: 'Stream resumption is unavailable right now; retry later',
    })
  }
  expect(upstream.received).toHaveLength(0)
})
