import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { bearer, fakeApiKeys } from '../../fake-api-keys.js'
import { emptyDocumentStore } from '../../fakes/document-store.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../../helpers.js'
import { parseMetrics, sumOf } from '../../metrics-text.js'
import { waitFor } from '../../wait-for.js'

const context = useFakeOpenAI()

async function limitedApp(environment: Record<string, string>, keys = fakeApiKeys()) {
  const config = testConfig({ OPENAI_BASE_URL: context.upstream.url, ...environment })
  return openTestApp(config, { setUp: keys, store: emptyDocumentStore() })
}

const chat = (app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  app.inject({
    method: 'POST',
    url: '/chat',
    headers,
    remoteAddress,
    payload: { messages: [{ role: 'user', content: 'hi' }] },
  })

describe('the request rate limit', () => {
  it('admits RATE_LIMIT_MAX requests per window, counting down in the RateLimit headers', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
    const answers = [await chat(app), await chat(app), await chat(app)]
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200])
    expect(answers.map((answer) => answer.headers['ratelimit-remaining'])).toEqual(['2', '1', '0'])
    expect(answers[0]?.headers['ratelimit-limit']).toBe('3')
    expect(Number(answers[0]?.headers['ratelimit-reset'])).toBeGreaterThan(0)
    expect(Number(answers[0]?.headers['ratelimit-reset'])).toBeLessThanOrEqual(60)
  })

  it('answers the next one 429 {"detail"} with Retry-After and RateLimit headers, without calling the upstream', async () => {
    const { app, logs } = await limitedApp({ RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' })
    await chat(app)
    await chat(app)
    const received = context.upstream.received.length
    const refused = await chat(app)
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toEqual({
      detail: 'Too many requests: 2 requests per 60 s for this client; retry in 1 minute',
    })
    const retryAfter = Number(refused.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(refused.headers['ratelimit-limit']).toBe('2')
    expect(refused.headers['ratelimit-remaining']).toBe('0')
    expect(refused.headers['ratelimit-reset']).toBe(String(retryAfter))
    expect(context.upstream.received.length).toBe(received)
    expect(logs.some((line) => line.code === 'rate_limited' && line.statusCode === 429)).toBe(true)
  })

  it('behind a trusted proxy, counts the client X-Forwarded-For names; a client cannot name itself otherwise', async () => {
    const balancer = '10.0.0.9'
    const viaBalancer = (client: string) => chat(trusted, { 'x-forwarded-for': client }, balancer)
    const { app: trusted } = await limitedApp({ RATE_LIMIT_MAX: '1', TRUST_PROXY: balancer })
    expect((await viaBalancer('203.0.113.1')).statusCode).toBe(200)
    expect((await viaBalancer('203.0.113.1')).statusCode).toBe(429)
    expect((await viaBalancer('203.0.113.2')).statusCode).toBe(200)

    // Not trusted (the default): the header is the client's own claim, and the socket's peer is counted.
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' })
    expect((await chat(app, { 'x-forwarded-for': '203.0.113.1' }, '10.0.0.3')).statusCode).toBe(200)
    expect((await chat(app, { 'x-forwarded-for': '203.0.113.2' }, '10.0.0.3')).statusCode).toBe(429)
  })

  it('TRUST_PROXY as a hop count believes that many proxies from the socket', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1', TRUST_PROXY: '1' })
    const through = (chain: string) => chat(app, { 'x-forwarded-for': chain }, '10.0.0.9')
    expect((await through('198.51.100.7, 203.0.113.5')).statusCode).toBe(200)
    // One hop trusted: the client is the address the balancer saw (the last), whatever came before it.
    expect((await through('192.0.2.1, 203.0.113.5')).statusCode).toBe(429)
  })

  it('counts each client IP apart when keys are off', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' })
    expect((await chat(app, {}, '10.0.0.1')).statusCode).toBe(200)
    expect((await chat(app, {}, '10.0.0.1')).statusCode).toBe(429)
    expect((await chat(app, {}, '10.0.0.2')).statusCode).toBe(200)
  })

  it('counts an IPv6 client by its /64, the block one host holds', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' })
    expect((await chat(app, {}, '2001:db8:1:2::1')).statusCode).toBe(200)
    expect((await chat(app, {}, '2001:db8:1:2::ffff')).statusCode).toBe(429)
    expect((await chat(app, {}, '2001:db8:1:3::1')).statusCode).toBe(200)
  })

  it('counts per API key, whatever the IP, with the limit the key overrides', async () => {
    const keys = fakeApiKeys(
      { name: 'web', scope: 'use' },
      { name: 'batch', scope: 'use', limits: { requestsPerWindow: 3 } },
    )
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' }, keys)
    expect((await chat(app, bearer('web'), '10.0.0.1')).statusCode).toBe(200)
    const refused = await chat(app, bearer('web'), '10.0.0.2')
    expect(refused.statusCode).toBe(429)
    expect(refused.json().detail).toContain('1 requests per 60 s for this API key')
    const batch = [await chat(app, bearer('batch')), await chat(app, bearer('batch'))]
    expect(batch.map((answer) => answer.statusCode)).toEqual([200, 200])
    expect(batch[0]?.headers['ratelimit-limit']).toBe('3')
    expect((await chat(app, bearer('batch'))).statusCode).toBe(200)
    expect((await chat(app, bearer('batch'))).statusCode).toBe(429)
  })

  it('covers every API route with one counter per client: a stream after /chat is refused', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' })
    await chat(app)
    const stream = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(stream.statusCode).toBe(429)
    const documents = await app.inject({ method: 'GET', url: '/documents' })
    expect(documents.statusCode).toBe(429)
  })

  it('leaves the open routes unlimited: /health, /ready, /metrics, /docs, /openapi.json', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '1' })
    for (const url of [
      '/health',
      '/health',
      '/ready',
      '/ready',
      '/metrics',
      '/metrics',
      '/docs/',
      '/openapi.json',
      '/openapi.json',
    ]) {
      const answer = await app.inject({ method: 'GET', url })
      expect(answer.statusCode, url).toBe(200)
      expect(answer.headers['ratelimit-limit'], url).toBeUndefined()
    }
  })

  it('counts every 429 of ours in genai_rate_limit_rejections_total: requests and streams alike', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '2', STREAMS_PER_CLIENT: '0' })
    await chat(app)
    await chat(app)
    await chat(app)
    await chat(app)
    const { app: streams } = await limitedApp({ STREAMS_PER_CLIENT: '1', SHUTDOWN_GRACE_MS: '50' })
    context.upstream.reset({ kind: 'stall' })
    const held = streams.inject({ method: 'GET', url: '/stream?prompt=hi' })
    await waitFor(() => context.upstream.received.length > 0)
    expect((await streams.inject({ method: 'GET', url: '/stream?prompt=hi' })).statusCode).toBe(429)
    const rejections = async (target: FastifyInstance) =>
      sumOf(
        parseMetrics((await target.inject({ method: 'GET', url: '/metrics' })).body),
        'genai_rate_limit_rejections_total',
      )
    expect(await rejections(app)).toBe(2)
    expect(await rejections(streams)).toBe(1)
    await streams.close()
    await held
  })

  it('RATE_LIMIT_MAX=0 installs no limit at all', async () => {
    const { app } = await limitedApp({ RATE_LIMIT_MAX: '0' })
    expect(app.hasPlugin('@fastify/rate-limit')).toBe(false)
    const answers = [await chat(app), await chat(app), await chat(app)]
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200])
    expect(answers[0]?.headers['ratelimit-limit']).toBeUndefined()
  })
})
