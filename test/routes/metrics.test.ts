import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it, onTestFinished } from 'vitest'
import { registerMetrics } from '../../src/plugins/metrics/index.js'
import { bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { ollamaJsonReply, startFakeOllama } from '../fakes/ollama.js'
import { errorReply, longSseReply, sseReply } from '../fakes/openai.js'
import type { UpstreamReply } from '../fakes/upstream.js'
import { openTestApp, serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { parseMetrics, type Sample, samplesOf, sumOf } from '../metrics-text.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

const fake = useFakeOpenAI()

/** An app pointed at the fake OpenAI with an empty document store, closed after the test. */
function open(environment: Record<string, string> = {}) {
  const config = testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...environment })
  return openTestApp(config, { store: emptyDocumentStore() })
}

type App = Awaited<ReturnType<typeof open>>['app']

async function scrape(app: App, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseMetrics(response.body)
}

/**
 * The names of the app's own `onResponse` hooks. Fastify has no public list of hooks: this reads its
 * internal one (the symbol described "fastify.hooks"), and fails loudly if that ever moves.
 */
function onResponseHooks(app: FastifyInstance): string[] {
  const symbol = Object.getOwnPropertySymbols(app).find((each) => each.description === 'fastify.hooks')
  if (symbol === undefined) throw new Error("Fastify's hooks are no longer where this test looks")
  const hooks = (app as unknown as Record<symbol, { onResponse: { name: string }[] }>)[symbol]
  return (hooks?.onResponse ?? []).map((hook) => hook.name)
}

const hello = { messages: [{ role: 'user', content: 'Say hello' }], model: 'gpt-4.1-mini' }

describe('GET /metrics: requests', () => {
  it('counts and times a /chat by method, route and status, with its upstream call and tokens', async () => {
    const { app } = await open()
    expect((await app.inject({ method: 'POST', url: '/chat', payload: hello })).statusCode).toBe(200)
    const samples = await scrape(app)
    const chat = { method: 'POST', route: '/chat', status_code: '200' }
    expect(sumOf(samples, 'http_requests_total', chat)).toBe(1)
    expect(sumOf(samples, 'http_request_duration_seconds_count', chat)).toBe(1)
    const call = { provider: 'openai', model: 'gpt-4.1-mini', kind: 'generate' }
    expect(sumOf(samples, 'genai_upstream_request_duration_seconds_count', call)).toBe(1)
    const tokens = { provider: 'openai', model: 'gpt-4.1-mini', key: 'anonymous' }
    expect(sumOf(samples, 'genai_tokens_total', { ...tokens, direction: 'input' })).toBe(21)
    expect(sumOf(samples, 'genai_tokens_total', { ...tokens, direction: 'output' })).toBe(10)
    expect(sumOf(samples, 'genai_upstream_errors_total')).toBe(0)
  })

  it("counts tokens by the name of the request's API key, never by the key itself", async () => {
    const { app } = await open(KEYS_ENVIRONMENT)
    const chat = await app.inject({ method: 'POST', url: '/chat', payload: hello, headers: bearer(USE_KEY) })
    expect(chat.statusCode).toBe(200)
    const response = await app.inject({ method: 'GET', url: '/metrics' })
    const samples = parseMetrics(response.body)
    const tokens = { provider: 'openai', model: 'gpt-4.1-mini', key: 'web' }
    expect(sumOf(samples, 'genai_tokens_total', { ...tokens, direction: 'input' })).toBe(21)
    expect(sumOf(samples, 'genai_tokens_total', { key: 'anonymous' })).toBe(0)
    expect(response.body).not.toContain(USE_KEY)
  })

  it('labels a route by its template, never by the raw URL, and requests no route took as "unmatched"', async () => {
    const { app } = await open()
    expect((await app.inject({ method: 'GET', url: '/documents/secret-id-123' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/no/such/path?q=user-text' })).statusCode).toBe(404)
    expect((await app.inject({ method: 'DELETE', url: '/chat' })).statusCode).toBe(405)
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(text).not.toContain('secret-id-123')
    expect(text).not.toContain('/no/such/path')
    const samples = parseMetrics(text)
    const documentRoute = { method: 'GET', route: '/documents/:id', status_code: '404' }
    expect(sumOf(samples, 'http_requests_total', documentRoute)).toBe(1)
    expect(sumOf(samples, 'http_requests_total', { route: 'unmatched', status_code: '404' })).toBe(1)
    expect(sumOf(samples, 'http_requests_total', { route: 'unmatched', status_code: '405' })).toBe(1)
  })

  it('counts an upstream failure by its error code, and a retry by provider and model', async () => {
    const { app } = await open()
    fake.upstream.enqueue(errorReply(429))
    expect((await app.inject({ method: 'POST', url: '/chat', payload: hello })).statusCode).toBe(429)
    fake.upstream.enqueue(errorReply(500))
    const safe = { prompt: 'Say hello', model: 'gpt-4.1-mini' }
    expect((await app.inject({ method: 'POST', url: '/safe', payload: safe })).statusCode).toBe(200)
    const samples = await scrape(app)
    const model = { provider: 'openai', model: 'gpt-4.1-mini' }
    expect(sumOf(samples, 'genai_upstream_errors_total', { ...model, code: 'upstream_rate_limited' })).toBe(1)
    expect(sumOf(samples, 'genai_upstream_errors_total', { ...model, code: 'upstream_unavailable' })).toBe(1)
    expect(sumOf(samples, 'genai_upstream_retries_total', model)).toBe(1)
  })

  it("counts Ollama's tokens from prompt_eval_count and eval_count", async () => {
    const ollama = await startFakeOllama()
    try {
      const { app } = await open({ OLLAMA_HOST: ollama.url })
      ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
      const answer = await app.inject({ method: 'POST', url: '/local-chat?model=llama3.2&prompt=hi' })
      expect(answer.statusCode).toBe(200)
      const samples = await scrape(app)
      const tokens = { provider: 'ollama', model: 'llama3.2', key: 'anonymous' }
      expect(sumOf(samples, 'genai_tokens_total', { ...tokens, direction: 'input' })).toBe(31)
      expect(sumOf(samples, 'genai_tokens_total', { ...tokens, direction: 'output' })).toBe(10)
    } finally {
      await ollama.close()
    }
  })

  it('reports the rate-limit rejection counter at 0, counted by app.metrics.countRateLimitRejection()', async () => {
    const { app } = await open()
    expect(samplesOf(await scrape(app), 'genai_rate_limit_rejections_total')).toEqual([
      { name: 'genai_rate_limit_rejections_total', labels: {}, value: 0 },
    ])
    app.metrics.countRateLimitRejection()
    expect(sumOf(await scrape(app), 'genai_rate_limit_rejections_total')).toBe(1)
  })

  it('counts document operations by operation and outcome', async () => {
    const store = emptyDocumentStore({
      list: async () => {
        throw new Error('disk gone')
      },
    })
    const { app } = await openTestApp(testConfig(), { store })
    expect((await app.inject({ method: 'GET', url: '/documents' })).statusCode).toBe(500)
    expect((await app.inject({ method: 'GET', url: '/documents/unknown' })).statusCode).toBe(404)
    const samples = await scrape(app)
    const count = (operation: string, outcome: string) =>
      sumOf(samples, 'genai_document_operations_total', { operation, outcome })
    expect(count('list', 'error')).toBe(1)
    expect(count('get', 'ok')).toBe(1)
    const duration = { operation: 'list', outcome: 'error' }
    expect(sumOf(samples, 'genai_document_operation_duration_seconds_count', duration)).toBe(1)
  })

  it('includes the process metrics', async () => {
    const { app } = await open()
    expect(samplesOf(await scrape(app), 'process_cpu_seconds_total')).toHaveLength(1)
  })
})

/** An app listening on loopback, its fake OpenAI answering `reply`; closed after the test. */
async function serveAnswering(reply: UpstreamReply, environment: Record<string, string> = {}) {
  fake.upstream.reset(reply)
  return serveTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...environment }))
}

/** The metrics once every stream of `app` is over. */
async function afterStreams(app: App): Promise<Sample[]> {
  await waitFor(() => app.streams.size === 0)
  return scrape(app)
}

describe('GET /metrics: streams over real sockets', () => {
  it('a completed stream: counted once, its first token and duration timed, none active after', async () => {
    const { app, base } = await serveAnswering(sseReply())
    expect((await readSse(await fetch(`${base}/stream?prompt=hi`))).last).toEqual({ done: true })
    const samples = await afterStreams(app)
    expect(sumOf(samples, 'genai_streams_active')).toBe(0)
    expect(sumOf(samples, 'genai_stream_first_token_seconds_count')).toBe(1)
    expect(sumOf(samples, 'genai_stream_duration_seconds_count')).toBe(1)
    expect(sumOf(samples, 'genai_streams_aborted_total')).toBe(0)
    expect(sumOf(samples, 'genai_streams_failed_total')).toBe(0)
    const stream = { provider: 'openai', kind: 'stream' }
    expect(sumOf(samples, 'genai_upstream_request_duration_seconds_count', stream)).toBe(1)
    expect(sumOf(samples, 'genai_tokens_total', { direction: 'output' })).toBe(10)
    expect(sumOf(samples, 'http_requests_total', { route: '/stream', status_code: '200' })).toBe(1)
  })

  it('a stream the client leaves and nobody resumes: active while open, then counted as aborted, not as failed', async () => {
    // No grace: the stream is cancelled for its client's leaving as soon as it leaves.
    const reply = longSseReply(2_000, 'word ', { delayMs: 20 })
    const { app, base } = await serveAnswering(reply, { STREAM_RESUME_GRACE_MS: '0' })
    const controller = new AbortController()
    const response = await fetch(`${base}/stream?prompt=hi`, { signal: controller.signal })
    await (response.body as ReadableStream<Uint8Array>).getReader().read()
    expect(sumOf(await scrape(app), 'genai_streams_active')).toBe(1)
    controller.abort()
    const samples = await afterStreams(app)
    expect(sumOf(samples, 'genai_streams_active')).toBe(0)
    expect(sumOf(samples, 'genai_streams_aborted_total')).toBe(1)
    expect(sumOf(samples, 'genai_streams_failed_total')).toBe(0)
    expect(sumOf(samples, 'genai_upstream_errors_total')).toBe(0)
  })

  it('events the replay log evicts for its bounds are counted', async () => {
    // 1 KiB per stream holds 15 events: a 1-character delta counts 66 bytes, the end 64.
    const { app, base } = await serveAnswering(longSseReply(40, 'x'), {
      STREAM_RESUME_MAX_BYTES_PER_STREAM: '1024',
    })
    await readSse(await fetch(`${base}/stream?prompt=hi`))
    const samples = await afterStreams(app)
    // start + 40 deltas + end = 42 events; the last 15 fit in 1,024 bytes (14 x 66 + 64 = 988).
    expect(sumOf(samples, 'genai_stream_replay_evictions_total')).toBe(27)
  })

  it('a stream that fails after it began: counted as failed by its error code', async () => {
    const { app, base } = await serveAnswering(sseReply('openai-responses-stream-failed.sse'))
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.last).toMatchObject({ error: 'stream_error' })
    const samples = await afterStreams(app)
    expect(sumOf(samples, 'genai_streams_failed_total', { code: 'upstream_unavailable' })).toBe(1)
    expect(sumOf(samples, 'genai_upstream_errors_total', { code: 'upstream_unavailable' })).toBe(1)
  })

  it('a stream whose first attempt failed: the retry is counted, the stream is not a failure', async () => {
    const { app, base } = await serveAnswering(sseReply())
    fake.upstream.enqueue(errorReply(503))
    expect((await readSse(await fetch(`${base}/stream?prompt=hi`))).last).toEqual({ done: true })
    const samples = await afterStreams(app)
    expect(sumOf(samples, 'genai_upstream_retries_total', { provider: 'openai' })).toBe(1)
    expect(sumOf(samples, 'genai_upstream_errors_total', { code: 'upstream_unavailable' })).toBe(1)
    expect(sumOf(samples, 'genai_streams_failed_total')).toBe(0)
  })
})

describe('METRICS_ENABLED=false', () => {
  it('/metrics is 404 and no metrics hook is installed', async () => {
    const { app } = await open({ METRICS_ENABLED: 'false' })
    const response = await app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: 'Not Found' })
    expect(onResponseHooks(app)).not.toContain('countResponse')
    expect(app.metrics.enabled).toBe(false)
  })

  it('gives the services no meters (no provider wrapper, stream stage or document meter), unlike when on', async () => {
    const off = Fastify()
    const on = Fastify()
    onTestFinished(async () => {
      await Promise.all([off.close(), on.close()])
    })
    expect(registerMetrics(off, testConfig({ METRICS_ENABLED: 'false' }))).toBeUndefined()
    expect(registerMetrics(on, testConfig())).toMatchObject({ streams: expect.any(Object) })
    await Promise.all([off.ready(), on.ready()])
    expect(onResponseHooks(off)).toEqual([])
    expect(onResponseHooks(on)).toEqual(['countResponse'])
  })
})

describe('METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789'

  it('without the bearer token, or with another, /metrics is 401 {"detail"}', async () => {
    const { app } = await open({ METRICS_TOKEN: token })
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, token]) {
      const headers = authorization === undefined ? {} : { authorization }
      const response = await app.inject({ method: 'GET', url: '/metrics', headers })
      expect(response.statusCode).toBe(401)
      expect(response.json()).toEqual({ detail: 'Not authenticated' })
      expect(response.headers['www-authenticate']).toBe('Bearer')
    }
  })

  it('with the token, /metrics answers; the token is masked in what the app logs', async () => {
    const { app, logText } = await open({ METRICS_TOKEN: token })
    await scrape(app, { authorization: `Bearer ${token}` })
    const { redactSecrets } = await import('../../src/redaction.js')
    expect(redactSecrets(`upstream said ${token}`)).not.toContain(token)
    expect(logText()).not.toContain(token)
  })
})
