import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { errorReply, fixtureReply, okReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { openTestApp, serveTestApp, type TestApp, testConfig } from '../helpers.js'
import { waitFor } from '../wait-for.js'

let upstream: FakeUpstream

beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})
beforeEach(() => {
  upstream.reset(okReply())
})

/** An app for this test, pointed at the fake; closed when the test finishes. */
async function appWith(environment: Record<string, string> = {}): Promise<TestApp> {
  return openTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, ...environment }))
}

/** One /safe call on a fresh app with this environment. */
async function postSafe(environment: Record<string, string>, request: Omit<InjectOptions, 'method'>) {
  const { app, logs } = await appWith(environment)
  const response = await app.inject({ method: 'POST', ...request })
  return { response, logs }
}

describe('POST /safe', () => {
  it('answers {response} for a prompt in the query, as the chapter does', async () => {
    const { response } = await postSafe({}, { url: '/safe?prompt=Say%20hi&model=gpt-4.1-mini' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ response: 'Hi there! How can I help you today?' })
    expect(upstream.received[0]?.json).toEqual({
      model: 'gpt-4.1-mini',
      input: [{ role: 'user', content: 'Say hi' }],
      store: false,
      stream: false,
    })
  })

  it('accepts a JSON body {prompt, model} instead', async () => {
    const { app } = await appWith()
    const response = await app.inject({
      method: 'POST',
      url: '/safe',
      payload: { prompt: 'Say hi', model: 'o4-mini' },
    })
    expect(response.json()).toEqual({ response: 'Hi there! How can I help you today?' })
    expect(upstream.received[0]?.json).toMatchObject({
      model: 'o4-mini',
      input: [{ role: 'user', content: 'Say hi' }],
    })
  })

  it('accepts an empty body sent as application/json when the prompt is in the query', async () => {
    const { response } = await postSafe(
      {},
      { url: '/safe?prompt=hi', headers: { 'content-type': 'application/json' }, payload: '' },
    )
    expect(response.statusCode).toBe(200)
  })

  it('succeeds after two retryable failures: three attempts seen upstream', async () => {
    upstream.enqueue(errorReply(500), fixtureReply('openai-error-429', { headers: { 'retry-after': '0' } }))
    const { response } = await postSafe({ RETRY_ATTEMPTS: '3' }, { url: '/safe?prompt=hi' })
    expect(response.statusCode).toBe(200)
    expect(upstream.received).toHaveLength(3)
  })

  it('gives 503 "AI service unavailable" after exactly RETRY_ATTEMPTS attempts', async () => {
    upstream.defaultReply = errorReply(503)
    const { response, logs } = await postSafe({ RETRY_ATTEMPTS: '4' }, { url: '/safe?prompt=hi' })
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ detail: 'AI service unavailable' })
    expect(upstream.received).toHaveLength(4)
    expect(logs.find((line) => line.code === 'ai_unavailable')?.detail).toContain(
      'retries exhausted: upstream 503',
    )
  })

  it('retries timeouts and connection resets too', async () => {
    upstream.enqueue({ kind: 'reset' }, { kind: 'stall' })
    const { response } = await postSafe(
      { RETRY_ATTEMPTS: '3', UPSTREAM_TIMEOUT_MS: '200' },
      { url: '/safe?prompt=hi' },
    )
    expect(response.statusCode).toBe(200)
    expect(upstream.received).toHaveLength(3)
  })

  it('does not retry a 400: one attempt, mapped as the error table says', async () => {
    upstream.enqueue(fixtureReply('openai-error-400-temperature'))
    const { response } = await postSafe({ RETRY_ATTEMPTS: '3' }, { url: '/safe?prompt=hi' })
    expect(response.statusCode).toBe(400)
    expect(upstream.received).toHaveLength(1)
  })

  it('does not retry a bad key: one attempt, 502', async () => {
    upstream.enqueue(fixtureReply('openai-error-401'))
    const { response } = await postSafe({ RETRY_ATTEMPTS: '3' }, { url: '/safe?prompt=hi' })
    expect(response.statusCode).toBe(502)
    expect(upstream.received).toHaveLength(1)
  })

  it("honours the upstream's Retry-After (1 s) between attempts", async () => {
    upstream.enqueue(fixtureReply('openai-error-429'))
    const { response } = await postSafe(
      { RETRY_MIN_DELAY_MS: '1', RETRY_MAX_DELAY_MS: '5000' },
      { url: '/safe?prompt=hi' },
    )
    expect(response.statusCode).toBe(200)
    const [first, second] = upstream.received
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990)
  })

  it('stops retrying once the client has gone: no attempt after the disconnect', async () => {
    upstream.defaultReply = errorReply(500)
    const { base, logs } = await serveTestApp(
      testConfig({
        OPENAI_BASE_URL: upstream.url,
        RETRY_ATTEMPTS: '5',
        RETRY_MIN_DELAY_MS: '400',
        RETRY_MAX_DELAY_MS: '400',
      }),
    )
    const controller = new AbortController()
    const request = fetch(`${base}/safe?prompt=hi`, {
      method: 'POST',
      headers: { 'x-request-id': 'safe-gone' },
      signal: controller.signal,
    }).catch(() => undefined)
    await waitFor(() => upstream.received.length === 1)
    controller.abort()
    await request
    // The retry policy has given up once the handler logs the client's departure: count after that.
    await waitFor(() =>
      logs.some((line) => line.reqId === 'safe-gone' && line.code === 'client_closed_request'),
    )
    expect(upstream.received).toHaveLength(1)
  })
})
