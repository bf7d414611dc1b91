import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { ndjsonReply, startFakeOllama } from '../fakes/ollama.js'
import { sseReply } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { openTestApp, serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const fake = useFakeOpenAI()
let ollama: FakeUpstream
beforeAll(async () => {
  ollama = await startFakeOllama()
})
afterAll(() => ollama.close())

const APP = 'https://app.example'
const OTHER = 'https://other.example'
const EXPOSED =
  'x-request-id, server-timing, x-cache, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, x-stream-id'
const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })

const environment = (extra: Record<string, string> = {}) =>
  testConfig({ OPENAI_BASE_URL: fake.upstream.url, OLLAMA_HOST: ollama.url, CORS_ORIGINS: APP, ...extra })

const preflight = (origin: string) => ({
  method: 'OPTIONS' as const,
  url: '/chat',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type',
  },
})

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((name) => name.startsWith('access-control-'))

describe('CORS', () => {
  it('answers a preflight from a listed origin 204, allowing the method and headers', async () => {
    const { app } = await openTestApp(environment())
    const response = await app.inject(preflight(APP))
    expect(response.statusCode).toBe(204)
    expect(response.headers['access-control-allow-origin']).toBe(APP)
    expect(response.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, DELETE')
    expect(response.headers['access-control-allow-headers']).toBe('authorization, content-type')
    expect(response.headers['access-control-max-age']).toBe('600')
    expect(response.headers['access-control-allow-credentials']).toBeUndefined()
    expect(response.headers.vary).toMatch(/Origin/)
  })

  it('answers the preflight without a key when keys are on: browsers never send one with it', async () => {
    const { app } = await openTestApp(environment(KEYS_ENVIRONMENT))
    expect((await app.inject(preflight(APP))).statusCode).toBe(204)
  })

  it('gives an origin it does not list no CORS header, on the preflight or the request', async () => {
    const { app } = await openTestApp(environment())
    const response = await app.inject(preflight(OTHER))
    expect(corsHeaders(response.headers)).toEqual([])
    // No route takes it: the not-found handler's 405, as without CORS.
    expect(response.statusCode).toBe(405)
    const actual = await app.inject({
      method: 'POST',
      url: '/chat',
      headers: { origin: OTHER, 'content-type': 'application/json' },
      payload: chatBody,
    })
    expect(corsHeaders(actual.headers)).toEqual([])
    // And without keys the request itself is refused (plugins/cross-site.ts).
    expect(actual.statusCode).toBe(403)
  })

  it('lets a listed origin read the answer and its exposed headers, and a 401 too', async () => {
    const { app } = await openTestApp(environment(KEYS_ENVIRONMENT))
    const request = {
      method: 'POST' as const,
      url: '/chat',
      headers: { origin: APP, 'content-type': 'application/json', ...bearer(USE_KEY) },
      payload: chatBody,
    }
    const response = await app.inject(request)
    expect(response.statusCode).toBe(200)
    expect(response.headers['access-control-allow-origin']).toBe(APP)
    expect(response.headers['access-control-expose-headers']).toBe(EXPOSED)
    const refused = await app.inject({ ...request, headers: { origin: APP } })
    expect(refused.statusCode).toBe(401)
    expect(refused.headers['access-control-allow-origin']).toBe(APP)
  })

  it('sends its headers on SSE and NDJSON streams, over a real socket', async () => {
    fake.upstream.reset(sseReply())
    ollama.reset(ndjsonReply())
    const { base } = await serveTestApp(environment())
    const headers = { origin: APP, 'content-type': 'application/json' }
    const body = JSON.stringify({ prompt: 'hi' })
    for (const path of ['/stream', '/local-stream']) {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers, body })
      await response.text()
      expect(response.status).toBe(200)
      expect(response.headers.get('access-control-allow-origin')).toBe(APP)
      expect(response.headers.get('access-control-expose-headers')).toBe(EXPOSED)
    }
    const get = await fetch(`${base}/stream?prompt=hi`, { headers: { origin: APP } })
    expect(get.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(get.headers.get('access-control-allow-origin')).toBe(APP)
    await get.text()
  })

  it('answers any origin with * when CORS_ORIGINS is *', async () => {
    const { app } = await openTestApp(environment({ CORS_ORIGINS: '*' }))
    const response = await app.inject(preflight(OTHER))
    expect(response.statusCode).toBe(204)
    expect(response.headers['access-control-allow-origin']).toBe('*')
  })

  it('is off without CORS_ORIGINS, as before: no preflight route (405), no header', async () => {
    const { app } = await openTestApp(environment({ CORS_ORIGINS: '' }))
    const response = await app.inject(preflight(APP))
    expect(response.statusCode).toBe(405)
    expect(corsHeaders(response.headers)).toEqual([])
  })

  it.each([
    ['https://app.example/path', /CORS_ORIGINS.*is not an origin/],
    ['app.example', /CORS_ORIGINS.*is not an origin/],
    [`*,${APP}`, /CORS_ORIGINS: \* stands alone/],
  ])('refuses CORS_ORIGINS=%s at boot', (origins, message) => {
    expect(() => testConfig({ CORS_ORIGINS: origins })).toThrow(message)
  })

  it('accepts a comma list with spaces', () => {
    expect(testConfig({ CORS_ORIGINS: ` ${APP}, ${OTHER} ,` }).CORS_ORIGINS).toEqual([APP, OTHER])
  })
})
