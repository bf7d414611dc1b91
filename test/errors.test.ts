import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { errorReply, fixtureReply } from './fakes/openai.js'
import type { UpstreamReply } from './fakes/upstream.js'
import { openTestApp, testConfig, useUpstreamAndApp } from './helpers.js'

const context = useUpstreamAndApp()

const chatWith = async (reply: UpstreamReply, model = 'gpt-4.1-mini') => {
  context.upstream.enqueue(reply)
  return context.harness.app.inject({
    method: 'POST',
    url: '/chat',
    payload: { messages: [{ role: 'user', content: 'hi' }], model },
  })
}

const notFoundModel: UpstreamReply = {
  kind: 'json',
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: {
      message: 'The model `gpt-9` does not exist or you do not have access to it.',
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    },
  }),
}

describe('upstream failures map to the error table, without leaking', () => {
  it('400 unsupported parameter: 400 with the upstream message, sanitised', async () => {
    const response = await chatWith(fixtureReply('openai-error-400-temperature'))
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      detail: "Unsupported parameter: 'temperature' is not supported with this model.",
    })
  })

  it('400 whose message carries a key-like string: the key is masked', async () => {
    const response = await chatWith(errorReply(400, 'Invalid value for key sk-live-abcdef123456: nope'))
    expect(response.statusCode).toBe(400)
    expect(response.json().detail).toBe('Invalid value for key [redacted]: nope')
  })

  it('401 bad key: 502 generic; the log says why without the key', async () => {
    const response = await chatWith(fixtureReply('openai-error-401'))
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider refused the request' })
    const logged = context.harness.logs.find((line) => line.code === 'upstream_auth')
    expect(logged?.detail).toMatch(/^upstream 401 invalid_api_key: Incorrect API key provided: \[redacted\]/)
    expect(context.harness.logText()).not.toContain('Ab1Z')
  })

  it('403: 502 generic', async () => {
    const response = await chatWith(errorReply(403, 'Project does not have access'))
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider refused the request' })
  })

  it("404 model: 404 model '<name>' not found, naming the model we asked for", async () => {
    const response = await chatWith(notFoundModel, 'gpt-9')
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: "model 'gpt-9' not found" })
  })

  it('404 that is not about a model (wrong base URL): 502, not a lie about the model', async () => {
    const response = await chatWith({
      kind: 'json',
      status: 404,
      body: 'Cannot POST /v1/responses',
      headers: { 'content-type': 'text/html' },
    })
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
  })

  it('429: 429 with Retry-After from the upstream', async () => {
    const response = await chatWith(fixtureReply('openai-error-429'))
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBe('1')
    expect(response.json()).toEqual({ detail: 'The AI provider is rate limiting requests; retry later' })
  })

  it('429 with retry-after-ms: Retry-After rounded up to whole seconds', async () => {
    const response = await chatWith(
      fixtureReply('openai-error-429', { headers: { 'retry-after-ms': '2500' } }),
    )
    expect(response.headers['retry-after']).toBe('3')
  })

  it('429 without any retry hint: 429 without Retry-After', async () => {
    const response = await chatWith(errorReply(429, 'slow down'))
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBeUndefined()
  })

  it('429 insufficient_quota: 502 generic (the operator must act, not the client)', async () => {
    const response = await chatWith(
      fixtureReply('openai-error-429-insufficient-quota', { head: 'openai-error-429' }),
    )
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider refused the request' })
    expect(response.headers['retry-after']).toBeUndefined()
  })

  it.each([500, 502, 503])('%i: 502 generic, never the upstream text', async (status) => {
    const response = await chatWith(errorReply(status, 'internal stack at /srv/secret/path.py line 12'))
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
    expect(response.body).not.toContain('secret')
  })

  it('connection reset: 502 generic', async () => {
    const response = await chatWith({ kind: 'reset' })
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
  })

  it('timeout: 504 generic after UPSTREAM_TIMEOUT_MS', async () => {
    // Its own app: a short timeout shared by every test would turn any pause of the machine into a 504.
    const { app } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: context.upstream.url, UPSTREAM_TIMEOUT_MS: '300' }),
    )
    context.upstream.enqueue({ kind: 'stall' })
    const response = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(response.statusCode).toBe(504)
    expect(response.json()).toEqual({ detail: 'The AI provider did not answer in time' })
  })
})

describe('upstreams that cannot be reached or configured', () => {
  it('connection refused: 502 generic', async () => {
    const closed = createServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const { port } = closed.address() as { port: number }
    closed.close()
    await once(closed, 'close')
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }))
    const response = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
  })

  it('no OPENAI_API_KEY: 503 naming the variable, on /chat and /safe', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_API_KEY: undefined }))
    const chat = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'user', content: 'hi' }] },
    })
    const safe = await app.inject({ method: 'POST', url: '/safe?prompt=hi' })
    for (const response of [chat, safe]) {
      expect(response.statusCode).toBe(503)
      expect(response.json()).toEqual({
        detail: 'OpenAI is not configured: set OPENAI_API_KEY and restart the server',
      })
    }
  })
})
