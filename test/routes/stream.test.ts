import { EventSource } from 'eventsource'
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { errorReply, fixtureReply, sseEvents, sseReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { buildTestApp, listen, openTestApp, type TestApp, testConfig } from '../helpers.js'
import { readSse } from '../sse-client.js'

const FULL_TEXT = 'Hi there! How can I help you today?'

let upstream: FakeUpstream
let harness: TestApp
let base: string

beforeAll(async () => {
  upstream = await startFakeOpenAI()
  harness = await buildTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, RETRY_ATTEMPTS: '2' }))
  base = await listen(harness.app)
})
afterAll(async () => {
  await harness.app.close()
  await upstream.close()
})
beforeEach(() => {
  upstream.reset(sseReply())
})

const postStream = (body: object = { prompt: 'Say hi' }, headers: Record<string, string> = {}) =>
  fetch(`${base}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

describe('POST /stream', () => {
  it("streams the chapter's frames after the stream's id: content deltas, then done, ids <stream>:<seq>", async () => {
    const response = await postStream({ prompt: 'Say hi', model: 'gpt-4.1-mini' })
    expect(response.status).toBe(200)
    const streamId = response.headers.get('x-stream-id')
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    const stream = await readSse(response)
    expect(stream.text).toBe(FULL_TEXT)
    expect(stream.frames).toHaveLength(12)
    expect(stream.frames[0]?.data).toEqual({ stream_id: streamId })
    expect(stream.frames.slice(1, -1).every((frame) => Object.keys(frame.data).join() === 'content')).toBe(
      true,
    )
    expect(stream.last).toEqual({ done: true })
    expect(stream.frames.map((frame) => frame.id)).toEqual(
      stream.frames.map((_, index) => `${streamId}:${index + 1}`),
    )
    expect(upstream.received[0]?.json).toMatchObject({ model: 'gpt-4.1-mini', stream: true, store: false })
  })

  it('sends event-stream headers that proxies neither buffer nor compress', async () => {
    const response = await postStream({ prompt: 'hi' }, { 'accept-encoding': 'gzip, br' })
    await response.text()
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    expect(response.headers.get('content-encoding')).toBeNull()
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(response.headers.get('server-timing')).toMatch(/^upstream;dur=[\d.]+, gateway;dur=[\d.]+$/)
  })

  it('leaves the upstream connection reusable after each completed stream', async () => {
    const before = upstream.connectionsAccepted
    for (let index = 0; index < 5; index++) {
      const stream = await readSse(await postStream())
      expect(stream.last).toEqual({ done: true })
    }
    expect(upstream.connectionsAccepted - before).toBeLessThanOrEqual(1)
  })

  it('streams a reasoning model, whose message follows a reasoning item', async () => {
    upstream.enqueue(sseReply('openai-responses-stream-gpt5.sse'))
    const stream = await readSse(await postStream())
    expect(stream.text).toBe(FULL_TEXT)
    expect(stream.last).toEqual({ done: true })
  })

  it('ends an answer cut short with done and the reason', async () => {
    upstream.enqueue(sseReply('openai-responses-stream-incomplete.sse'))
    const stream = await readSse(await postStream())
    expect(stream.last).toEqual({ done: true, reason: 'max_output_tokens' })
  })

  it('ends a failed response with an error frame carrying a safe detail', async () => {
    upstream.enqueue(sseReply('openai-responses-stream-failed.sse'))
    const stream = await readSse(await postStream())
    expect(stream.text).toBe('Hi there!')
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider is unavailable' })
    expect(harness.logText()).toContain('upstream response.failed server_error')
  })

  it('ends with an error frame on an error event in the observed nested shape', async () => {
    upstream.enqueue(sseReply('openai-responses-stream-error.sse'))
    const stream = await readSse(await postStream())
    expect(stream.last).toEqual({
      error: 'stream_error',
      detail: 'The AI provider is rate limiting requests; retry later',
    })
  })

  it('ends with an error frame on an error event in the flat shape of the spec', async () => {
    const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
    const flat = {
      type: 'error',
      code: 'server_error',
      message: 'internal detail',
      param: null,
      sequence_number: 2,
    }
    upstream.enqueue({
      kind: 'stream',
      contentType: 'text/event-stream',
      chunks: [created, inProgress, `event: error\ndata: ${JSON.stringify(flat)}\n\n`],
    })
    const stream = await readSse(await postStream())
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider is unavailable' })
  })

  it('ends with an error frame when the upstream drops the socket mid-stream, and does not retry', async () => {
    upstream.enqueue(sseReply('openai-responses-stream.sse', { dropAfter: 7, delayMs: 5 }))
    const stream = await readSse(await postStream())
    // What was in flight when the socket was destroyed may or may not arrive.
    expect(stream.text).toMatch(/^Hi there!?$/)
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider is unavailable' })
    expect(upstream.received).toHaveLength(1)
  })

  it('ends with an error frame when the upstream ends the body without a terminal event', async () => {
    upstream.enqueue({
      kind: 'stream',
      contentType: 'text/event-stream',
      chunks: sseEvents('openai-responses-stream.sse').slice(0, 7),
    })
    const stream = await readSse(await postStream())
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider is unavailable' })
  })
})

describe('failures before the first event are ordinary HTTP errors', () => {
  const cases: [string, () => void, number, string][] = [
    [
      'bad key',
      () => upstream.enqueue(fixtureReply('openai-error-401')),
      502,
      'The AI provider refused the request',
    ],
    [
      'unsupported parameter',
      () => upstream.enqueue(fixtureReply('openai-error-400-temperature')),
      400,
      "Unsupported parameter: 'temperature' is not supported with this model.",
    ],
    [
      'unknown model',
      () =>
        upstream.enqueue({
          kind: 'json',
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: '{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}',
        }),
      404,
      "model 'gpt-5' not found",
    ],
    [
      '429 on every attempt (rate limited, not an outage)',
      () => {
        upstream.defaultReply = fixtureReply('openai-error-429', { headers: { 'retry-after': '0' } })
      },
      429,
      'The AI provider is rate limiting requests; retry later',
    ],
    [
      '5xx on every attempt',
      () => {
        upstream.defaultReply = errorReply(500)
      },
      503,
      'AI service unavailable',
    ],
  ]

  it.each(cases)('%s', async (_name, script, status, detail) => {
    script()
    const response = await postStream()
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toContain('application/json')
    expect(await response.json()).toEqual({ detail })
  })

  it('no first event in time on every attempt', async () => {
    // Its own app: a short first-event limit shared by every test would fail streams on a busy machine.
    const { app } = await openTestApp(
      testConfig({
        OPENAI_BASE_URL: upstream.url,
        RETRY_ATTEMPTS: '2',
        STREAM_FIRST_EVENT_TIMEOUT_MS: '300',
      }),
    )
    upstream.defaultReply = { kind: 'stall' }
    const response = await app.inject({ method: 'POST', url: '/stream', payload: { prompt: 'Say hi' } })
    expect(response.statusCode).toBe(503)
    expect(response.headers['content-type']).toContain('application/json')
    expect(response.json()).toEqual({ detail: 'AI service unavailable' })
    expect(upstream.received).toHaveLength(2)
  })

  it('retries before the first event: a 500, then a stream', async () => {
    upstream.enqueue(errorReply(500))
    const response = await postStream()
    expect(response.status).toBe(200)
    expect((await readSse(response)).text).toBe(FULL_TEXT)
    expect(upstream.received).toHaveLength(2)
  })

  it('refused connection: 503 after the retries', async () => {
    const { app } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', RETRY_ATTEMPTS: '2' }),
    )
    const response = await app.inject({ method: 'POST', url: '/stream', payload: { prompt: 'hi' } })
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ detail: 'AI service unavailable' })
  })

  it('no OPENAI_API_KEY: 503 naming the variable', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_API_KEY: undefined }))
    const response = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(response.statusCode).toBe(503)
    expect(response.json().detail).toContain('OPENAI_API_KEY')
  })

  it('a missing prompt is a 422', async () => {
    const response = await fetch(`${base}/stream`)
    expect(response.status).toBe(422)
    expect(await response.json()).toEqual({
      detail: [{ loc: ['query', 'prompt'], msg: 'Field required', type: 'missing' }],
    })
  })
})

describe('GET /stream', () => {
  it('works with a real EventSource client, which closes on the done frame', async () => {
    const source = new EventSource(`${base}/stream?prompt=Say%20hi&model=gpt-4.1-mini`)
    // Closed however the test ends: an EventSource left open reconnects and asks again.
    onTestFinished(() => source.close())
    const received: { id: string; data: Record<string, unknown> }[] = []
    await new Promise<void>((resolve, reject) => {
      source.onmessage = (event) => {
        const data = JSON.parse(event.data)
        received.push({ id: event.lastEventId, data })
        if (data.done) resolve()
      }
      source.onerror = () => reject(new Error('EventSource error'))
    })
    expect(received.map((message) => message.data.content ?? '').join('')).toBe(FULL_TEXT)
    const streamId = received[0]?.data.stream_id
    expect(received.at(-1)).toEqual({ id: `${streamId}:12`, data: { done: true } })
    expect(upstream.received[0]?.json).toMatchObject({
      model: 'gpt-4.1-mini',
      input: [{ role: 'user', content: 'Say hi' }],
    })
  })
})
