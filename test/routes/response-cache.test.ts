import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { ollamaJsonReply, startFakeOllama } from '../fakes/ollama.js'
import { errorReply, okReply, sseReply } from '../fakes/openai.js'
import { type FakeUpstream, heldReply } from '../fakes/upstream.js'
import { openTestApp, serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { parseMetrics, sumOf } from '../metrics-text.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

/** The recorded answer's text (test/fixtures/openai-response.json). */
const ANSWER = 'Hi there! How can I help you today?'

const context = useFakeOpenAI()

/** An app whose response cache is on, on a clock the test moves. */
async function cachingApp(environment: Record<string, string> = {}) {
  const clock = { now: Date.UTC(2026, 11, 2) }
  const config = testConfig({ OPENAI_BASE_URL: context.upstream.url, RESPONSE_CACHE: 'true', ...environment })
  const harness = await openTestApp(config, { now: () => clock.now, store: emptyDocumentStore() })
  return { ...harness, clock }
}

const chat = (app: FastifyInstance, headers: Record<string, string> = {}, content = 'Tell me a joke') =>
  app.inject({ method: 'POST', url: '/chat', headers, payload: { messages: [{ role: 'user', content }] } })

describe('response cache', () => {
  it('answers a repeated question from the cache: miss then hit, one upstream call, the same body', async () => {
    const { app } = await cachingApp()
    const first = await chat(app)
    const second = await chat(app)
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['miss', 'hit'])
    expect(second.json()).toEqual(first.json())
    expect(first.json().text).toBe(ANSWER)
    expect(context.upstream.received).toHaveLength(1)
  })

  it('keys by everything that changes the answer: another question or model is a miss', async () => {
    const { app } = await cachingApp()
    await chat(app)
    const other = await chat(app, {}, 'Tell me another joke')
    const otherModel = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Tell me a joke' }] },
    })
    expect([other.headers['x-cache'], otherModel.headers['x-cache']]).toEqual(['miss', 'miss'])
    expect(context.upstream.received).toHaveLength(3)
  })

  it('Cache-Control: no-cache bypasses the cache and refreshes it', async () => {
    const { app } = await cachingApp()
    await chat(app)
    const bypassed = await chat(app, { 'cache-control': 'no-cache' })
    expect(bypassed.headers['x-cache']).toBe('bypass')
    expect(context.upstream.received).toHaveLength(2)
    expect((await chat(app)).headers['x-cache']).toBe('hit')
  })

  it('Cache-Control: no-store neither reads nor writes the cache', async () => {
    const { app } = await cachingApp()
    const stored = await chat(app, { 'cache-control': 'no-store' })
    expect(stored.headers['x-cache']).toBe('bypass')
    expect((await chat(app)).headers['x-cache']).toBe('miss')
    expect(context.upstream.received).toHaveLength(2)
  })

  it('Cache-Control: max-age=N accepts only an answer at most N seconds old', async () => {
    const { app, clock } = await cachingApp()
    await chat(app)
    clock.now += 31_000
    expect((await chat(app, { 'cache-control': 'max-age=60' })).headers['x-cache']).toBe('hit')
    expect((await chat(app, { 'cache-control': 'max-age=30' })).headers['x-cache']).toBe('miss')
  })

  it('forgets an answer once CACHE_TTL_MS has passed', async () => {
    const { app, clock } = await cachingApp({ CACHE_TTL_MS: '60000' })
    await chat(app)
    clock.now += 60_001
    expect((await chat(app)).headers['x-cache']).toBe('miss')
    expect(context.upstream.received).toHaveLength(2)
  })

  it('does not cache a failure: the next request asks the upstream again', async () => {
    const { app } = await cachingApp()
    context.upstream.enqueue(errorReply(400, 'bad'))
    expect((await chat(app)).statusCode).toBe(400)
    const after = await chat(app)
    expect([after.statusCode, after.headers['x-cache']]).toEqual([200, 'miss'])
  })

  it('serves /safe from the cache too: /chat’s answer to the same one message', async () => {
    const { app } = await cachingApp()
    await chat(app, {}, 'hi')
    const safe = await app.inject({ method: 'POST', url: '/safe?prompt=hi' })
    expect([safe.headers['x-cache'], safe.json()]).toEqual(['hit', { response: ANSWER }])
    expect(context.upstream.received).toHaveLength(1)
  })

  it('counts each outcome in genai_cache_requests_total', async () => {
    const { app } = await cachingApp()
    await chat(app)
    await chat(app)
    await chat(app, { 'cache-control': 'no-store' })
    const samples = parseMetrics((await app.inject({ method: 'GET', url: '/metrics' })).body)
    const count = (outcome: string) => sumOf(samples, 'genai_cache_requests_total', { outcome })
    expect([count('hit'), count('miss'), count('bypass')]).toEqual([1, 1, 1])
  })

  it('is off with CACHE_TTL_MS=0 even when RESPONSE_CACHE=true', async () => {
    const { app } = await cachingApp({ CACHE_TTL_MS: '0' })
    const [first, second] = [await chat(app), await chat(app)]
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual([undefined, undefined])
    expect(context.upstream.received).toHaveLength(2)
  })

  it('sends no x-cache header when the cache is off', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: context.upstream.url }), {
      store: emptyDocumentStore(),
    })
    const [first, second] = [await chat(app), await chat(app)]
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual([undefined, undefined])
    expect(context.upstream.received).toHaveLength(2)
  })
})

describe('a cached answer served to a stream', () => {
  it('POST /stream sends the cached answer as the usual frames, without calling the upstream', async () => {
    const { app, base } = await servedCachingApp()
    await app.inject({ method: 'POST', url: '/safe?prompt=hi' })
    const response = await fetch(`${base}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
    })
    expect(response.headers.get('x-cache')).toBe('hit')
    const stream = await readSse(response)
    // A resumable stream like any other: its id first, then the answer's frames, numbered in it.
    const streamId = response.headers.get('x-stream-id')
    expect(stream.frames.map((frame) => frame.data)).toEqual([
      { stream_id: streamId },
      { content: ANSWER },
      { done: true },
    ])
    expect(stream.frames.map((frame) => frame.id)).toEqual([1, 2, 3].map((seq) => `${streamId}:${seq}`))
    expect(context.upstream.received).toHaveLength(1)
  })

  it('GET /stream too; with Cache-Control: no-cache it streams from the upstream (bypass)', async () => {
    const { app, base } = await servedCachingApp()
    await app.inject({ method: 'POST', url: '/safe?prompt=hi' })
    const cached = await fetch(`${base}/stream?prompt=hi`)
    expect(cached.headers.get('x-cache')).toBe('hit')
    expect((await readSse(cached)).text).toBe(ANSWER)
    context.upstream.enqueue(sseReply())
    const bypassed = await fetch(`${base}/stream?prompt=hi`, { headers: { 'cache-control': 'no-cache' } })
    expect(bypassed.headers.get('x-cache')).toBe('bypass')
    expect((await readSse(bypassed)).text).toBe(ANSWER)
    expect(context.upstream.received).toHaveLength(2)
  })

  it('stores a streamed answer once whole: the next /stream and /chat asking the same are hits', async () => {
    const { app, base } = await servedCachingApp()
    context.upstream.enqueue(sseReply())
    const first = await fetch(`${base}/stream?prompt=hi`)
    expect(first.headers.get('x-cache')).toBe('miss')
    expect((await readSse(first)).text).toBe(ANSWER)
    const again = await fetch(`${base}/stream?prompt=hi`)
    expect([again.headers.get('x-cache'), (await readSse(again)).text]).toEqual(['hit', ANSWER])
    const chatted = await chat(app, {}, 'hi')
    expect([chatted.headers['x-cache'], chatted.json()]).toEqual([
      'hit',
      { text: ANSWER, model: 'gpt-4.1-mini-2025-04-14' },
    ])
    expect(context.upstream.received).toHaveLength(1)
  })

  it('stores no stream that failed, nor one asked with no-store', async () => {
    const { base } = await servedCachingApp()
    context.upstream.enqueue(sseReply('openai-responses-stream-error.sse'), sseReply())
    const failed = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(failed.last).toMatchObject({ error: 'stream_error' })
    const unstored = await fetch(`${base}/stream?prompt=hi`, { headers: { 'cache-control': 'no-store' } })
    expect((await readSse(unstored)).last).toEqual({ done: true })
    context.upstream.enqueue(sseReply())
    const third = await fetch(`${base}/stream?prompt=hi`)
    expect(third.headers.get('x-cache')).toBe('miss')
    await readSse(third)
    expect(context.upstream.received).toHaveLength(3)
  })

  describe('/local-stream (Ollama)', () => {
    let ollama: FakeUpstream
    beforeAll(async () => {
      ollama = await startFakeOllama()
    })
    afterAll(async () => {
      await ollama?.close()
    })

    it('relays the cached answer as the lines of Ollama’s /api/generate stream', async () => {
      ollama.reset(ollamaJsonReply('ollama-generate.json'))
      const { app } = await cachingApp({ OLLAMA_HOST: ollama.url })
      await app.inject({ method: 'POST', url: '/local-chat?prompt=Why%20is%20the%20sky%20blue%3F' })
      const response = await app.inject({
        method: 'POST',
        url: '/local-stream?prompt=Why%20is%20the%20sky%20blue%3F',
      })
      expect([response.statusCode, response.headers['x-cache']]).toEqual([200, 'hit'])
      const createdAt = new Date(Date.UTC(2026, 11, 2)).toISOString()
      const line = { model: 'llama3.2', created_at: createdAt }
      expect(
        response.body
          .split('\n')
          .filter(Boolean)
          .map((text) => JSON.parse(text)),
      ).toEqual([
        { ...line, response: 'The sky is blue because of Rayleigh scattering.', done: false },
        { ...line, response: '', done: true, done_reason: 'stop' },
      ])
      expect(response.body.endsWith('\n')).toBe(true)
      expect(ollama.received).toHaveLength(1)
    })
  })

  async function servedCachingApp() {
    const config = testConfig({ OPENAI_BASE_URL: context.upstream.url, RESPONSE_CACHE: 'true' })
    return serveTestApp(config, { store: emptyDocumentStore() })
  }
})

describe('coalescing', () => {
  it('50 identical requests in flight make exactly one upstream call, and all 50 get the answer', async () => {
    const { app } = await cachingApp()
    const held = heldReply()
    context.upstream.enqueue(held.reply)
    const answers = Array.from({ length: 50 }, () => chat(app))
    await waitFor(() => app.chat.shared?.waiting === 50)
    held.release(okReply())
    const responses = await Promise.all(answers)
    expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(200))
    expect(new Set(responses.map((response) => response.json().text))).toEqual(new Set([ANSWER]))
    expect(context.upstream.received).toHaveLength(1)
  })

  it('coalesces with COALESCE=true alone, without the cache: no x-cache, the next request calls again', async () => {
    const config = testConfig({ OPENAI_BASE_URL: context.upstream.url, COALESCE: 'true' })
    const { app } = await openTestApp(config, { store: emptyDocumentStore() })
    const held = heldReply()
    context.upstream.enqueue(held.reply)
    const answers = Array.from({ length: 5 }, () => chat(app))
    await waitFor(() => app.chat.shared?.waiting === 5)
    held.release(okReply())
    const responses = await Promise.all(answers)
    expect(responses.map((response) => response.headers['x-cache'])).toEqual(Array(5).fill(undefined))
    expect(context.upstream.received).toHaveLength(1)
    await chat(app)
    expect(context.upstream.received).toHaveLength(2)
  })

  it('a shared failure reaches every waiter, and the next request tries again', async () => {
    const { app } = await cachingApp()
    const held = heldReply()
    context.upstream.enqueue(held.reply)
    const answers = Array.from({ length: 10 }, () => chat(app))
    await waitFor(() => app.chat.shared?.waiting === 10)
    held.release(errorReply(500))
    const responses = await Promise.all(answers)
    expect(responses.map((response) => response.statusCode)).toEqual(Array(10).fill(502))
    const retried = await chat(app)
    expect([retried.statusCode, context.upstream.received.length]).toEqual([200, 2])
  })

  it('a client that leaves does not cancel the shared call; when the last leaves, the upstream is aborted', async () => {
    const config = testConfig({ OPENAI_BASE_URL: context.upstream.url, RESPONSE_CACHE: 'true' })
    const { app, base } = await serveTestApp(config, { store: emptyDocumentStore() })
    context.upstream.enqueue({ kind: 'stall' })
    const abandonedBefore = context.upstream.abandonedRequests
    const clients = [new AbortController(), new AbortController()]
    const requests = clients.map((client) =>
      fetch(`${base}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a joke' }] }),
        signal: client.signal,
      }).catch(() => undefined),
    )
    await waitFor(() => app.chat.shared?.waiting === 2)
    clients[0]?.abort()
    await waitFor(() => app.chat.shared?.waiting === 1)
    // A third request joins the call the first left: proof it is still in flight and shared.
    const third = new AbortController()
    const joined = fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a joke' }] }),
      signal: third.signal,
    }).catch(() => undefined)
    await waitFor(() => app.chat.shared?.waiting === 2)
    expect(context.upstream.abandonedRequests).toBe(abandonedBefore)
    clients[1]?.abort()
    third.abort()
    await Promise.all([...requests, joined])
    await waitFor(() => context.upstream.abandonedRequests - abandonedBefore === 1)
    expect(context.upstream.received).toHaveLength(1)
  })
})
