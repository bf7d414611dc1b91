import { afterEach, describe, expect, it } from 'vitest'
import { okReply } from '../fakes/openai.js'
import type { UpstreamReply } from '../fakes/upstream.js'
import { completedResponseFrom, readHead } from '../fixtures.js'
import { openTestApp, serveTestApp, testConfig, useUpstreamAndApp } from '../helpers.js'
import { waitFor } from '../wait-for.js'

const context = useUpstreamAndApp({ DEFAULT_MODEL: 'gpt-5' })
afterEach(() => {
  context.upstream.received.length = 0
})

const chat = (payload: unknown, headers: Record<string, string> = {}) =>
  context.harness.app.inject({ method: 'POST', url: '/chat', payload: payload as object, headers })

const hello = { messages: [{ role: 'user', content: 'Say hello' }] }

describe('POST /chat', () => {
  it('answers with the text and the model the upstream reported', async () => {
    const response = await chat({ ...hello, model: 'gpt-4.1-mini' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      text: 'Hi there! How can I help you today?',
      model: 'gpt-4.1-mini-2025-04-14',
    })
  })

  it('reads the message after the reasoning item of a reasoning model', async () => {
    context.upstream.enqueue({
      kind: 'json',
      status: 200,
      headers: readHead('openai-response.headers.txt').headers,
      body: completedResponseFrom('openai-responses-stream-gpt5.sse'),
    })
    const response = await chat(hello)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      text: 'Hi there! How can I help you today?',
      model: 'gpt-5-2025-08-07',
    })
  })

  it('sends the message list as input, the default model, and no temperature when none is given', async () => {
    const messages = [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'How are you?' },
    ]
    await chat({ messages })
    expect(context.upstream.received).toHaveLength(1)
    const [sent] = context.upstream.received
    expect(sent?.url).toBe('/v1/responses')
    expect(sent?.headers.authorization).toBe('Bearer sk-test-1234567890abcdefSECRET')
    expect(sent?.json).toEqual({ model: 'gpt-5', input: messages, store: false, stream: false })
  })

  it('forwards temperature when the caller gives one', async () => {
    await chat({ ...hello, model: 'gpt-4.1-mini', temperature: 0 })
    expect(context.upstream.received[0]?.json).toMatchObject({ model: 'gpt-4.1-mini', temperature: 0 })
  })

  it('makes exactly one upstream attempt: /chat has no retry policy', async () => {
    context.upstream.enqueue({
      kind: 'json',
      status: 500,
      body: '{"error":{"message":"boom","type":"server_error","param":null,"code":null}}',
      headers: { 'content-type': 'application/json' },
    })
    const response = await chat(hello)
    expect(response.statusCode).toBe(502)
    expect(context.upstream.received).toHaveLength(1)
  })

  it('sends the organization and project headers only when configured', async () => {
    expect(context.upstream.received.length).toBe(0)
    await chat(hello)
    expect(context.upstream.received[0]?.headers).not.toHaveProperty('openai-organization')
    const { app } = await openTestApp(
      testConfig({
        OPENAI_BASE_URL: `${context.upstream.url}/`,
        OPENAI_ORG_ID: 'org-team',
        OPENAI_PROJECT_ID: 'proj_gateway',
      }),
    )
    const response = await app.inject({ method: 'POST', url: '/chat', payload: hello })
    expect(response.statusCode).toBe(200)
    const sent = context.upstream.received[1]
    expect(sent?.url).toBe('/v1/responses')
    expect(sent?.headers).toMatchObject({
      'openai-organization': 'org-team',
      'openai-project': 'proj_gateway',
    })
  })

  it('answers 502 when the upstream says 200 but its body is not JSON', async () => {
    context.upstream.enqueue({
      kind: 'json',
      status: 200,
      body: '<html>captive portal</html>',
      headers: { 'content-type': 'text/html' },
    })
    const response = await chat(hello)
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
    expect(response.body).not.toContain('captive')
  })

  it('echoes an acceptable x-request-id and forwards it upstream', async () => {
    const response = await chat(hello, { 'x-request-id': 'client-id-42' })
    expect(response.headers['x-request-id']).toBe('client-id-42')
    expect(context.upstream.received[0]?.headers['x-request-id']).toBe('client-id-42')
    expect(context.harness.logs.some((line) => line.reqId === 'client-id-42')).toBe(true)
  })

  it('replaces an x-request-id that could forge log lines with a fresh one', async () => {
    const response = await chat(hello, { 'x-request-id': 'bad id\twith spaces' })
    const id = response.headers['x-request-id']
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(context.upstream.received[0]?.headers['x-request-id']).toBe(id)
  })

  it('reuses one keep-alive upstream connection across requests', async () => {
    const before = context.upstream.connectionsAccepted
    for (let index = 0; index < 5; index++) await chat(hello)
    expect(context.upstream.connectionsAccepted - before).toBeLessThanOrEqual(1)
  })

  it('aborts the upstream call when the client disconnects', async () => {
    const { base, logs } = await serveTestApp(testConfig({ OPENAI_BASE_URL: context.upstream.url }))
    context.upstream.enqueue({ kind: 'stall' })
    const abandonedBefore = context.upstream.abandonedRequests
    const controller = new AbortController()
    const request = fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'chat-gone' },
      body: JSON.stringify(hello),
      signal: controller.signal,
    }).catch(() => undefined)
    await waitFor(() => context.upstream.received.length === 1)
    controller.abort()
    await request
    // The upstream request closing is the behaviour itself; the handler then ends with this line.
    await waitFor(() => context.upstream.abandonedRequests - abandonedBefore === 1)
    await waitFor(() =>
      logs.some((line) => line.reqId === 'chat-gone' && line.code === 'client_closed_request'),
    )
    expect(context.upstream.abandonedRequests - abandonedBefore).toBe(1)
  })

  it('reports the time spent upstream and in the gateway in a Server-Timing header', async () => {
    context.upstream.enqueue({ ...okReply(), delayMs: 120 } as UpstreamReply)
    const started = performance.now()
    const response = await chat(hello)
    const observed = performance.now() - started
    const header = String(response.headers['server-timing'])
    const match = /^upstream;dur=([\d.]+), gateway;dur=([\d.]+)$/.exec(header)
    expect(match, header).not.toBeNull()
    const [upstream, gateway] = [Number(match?.[1]), Number(match?.[2])]
    // Lower bound: the fake held its answer back 120 ms, so at least that much is the upstream's.
    expect(upstream).toBeGreaterThanOrEqual(115)
    // Containment, not speed: both parts fit in the time the caller waited, so the upstream's time is
    // not counted again in the gateway's (0.01 ms of slack for the header's rounding).
    expect(upstream + gateway).toBeLessThanOrEqual(observed + 0.02)
  })

  it('sends Server-Timing on errors too, with no upstream time when none was spent', async () => {
    const response = await chat({})
    expect(response.statusCode).toBe(422)
    expect(response.headers['server-timing']).toMatch(/^upstream;dur=0\.00, gateway;dur=[\d.]+$/)
  })
})
