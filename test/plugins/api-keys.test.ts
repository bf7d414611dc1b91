import { describe, expect, it } from 'vitest'
import { ADMIN_KEY, bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const fake = useFakeOpenAI()

const chatBody = { messages: [{ role: 'user', content: 'hi' }] }
/** `POST /chat` with `headers`, for app.inject. */
const chat = (headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/chat',
  payload: chatBody,
  headers,
})

async function keyedApp(environment: Record<string, string> = {}) {
  return openTestApp(
    testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...KEYS_ENVIRONMENT, ...environment }),
    {
      store: emptyDocumentStore(),
    },
  )
}

describe('API keys', () => {
  it('answers 401 Not authenticated with WWW-Authenticate: Bearer to a request without a key', async () => {
    const { app } = await keyedApp()
    const response = await app.inject(chat())
    expect(response.statusCode).toBe(401)
    expect(response.json()).toEqual({ detail: 'Not authenticated' })
    expect(response.headers['www-authenticate']).toBe('Bearer')
    expect(response.headers['x-request-id']).toBeTruthy()
    expect(fake.upstream.received).toHaveLength(0)
  })

  it.each([
    ['an unknown key', `Bearer ${USE_KEY}x`],
    ['another scheme', `Basic ${Buffer.from(`web:${USE_KEY}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
    ['the key without a scheme', USE_KEY],
  ])('answers 401 with WWW-Authenticate to %s', async (_case, authorization) => {
    const { app } = await keyedApp()
    const response = await app.inject(chat({ authorization }))
    expect(response.statusCode).toBe(401)
    expect(response.json()).toEqual({ detail: 'Not authenticated' })
    expect(response.headers['www-authenticate']).toBe('Bearer')
    expect(fake.upstream.received).toHaveLength(0)
  })

  it('serves /chat to a use key, and to an admin key', async () => {
    const { app } = await keyedApp()
    for (const key of [USE_KEY, ADMIN_KEY]) {
      const response = await app.inject(chat(bearer(key)))
      expect(response.statusCode).toBe(200)
    }
    expect(fake.upstream.received).toHaveLength(2)
  })

  it('accepts the scheme in any case, as RFC 9110 says', async () => {
    const { app } = await keyedApp()
    const response = await app.inject(chat({ authorization: `bearer ${USE_KEY}` }))
    expect(response.statusCode).toBe(200)
  })

  it('lets a use key read documents but answers 403 to its POST and DELETE, which an admin key may', async () => {
    const { app } = await keyedApp()
    const write = { method: 'POST' as const, url: '/documents', payload: { documents: [{ text: 'hello' }] } }
    const remove = { method: 'DELETE' as const, url: '/documents/some-id' }

    expect((await app.inject({ url: '/documents', headers: bearer(USE_KEY) })).statusCode).toBe(200)
    expect((await app.inject({ url: '/documents/some-id', headers: bearer(USE_KEY) })).statusCode).toBe(404)
    for (const request of [write, remove]) {
      const refused = await app.inject({ ...request, headers: bearer(USE_KEY) })
      expect(refused.statusCode).toBe(403)
      expect(refused.json()).toEqual({
        detail: "this API key's scope 'use' does not allow this request: it needs 'admin'",
      })
    }
    expect((await app.inject({ ...write, headers: bearer(ADMIN_KEY) })).statusCode).toBe(200)
    // The store has no such document: 404 says the request got past the key check.
    expect((await app.inject({ ...remove, headers: bearer(ADMIN_KEY) })).statusCode).toBe(404)
    expect((await app.inject(remove)).statusCode).toBe(401)
  })

  it('leaves /health, /ready, /metrics, /docs and /openapi.json open, and an unknown URL a plain 404', async () => {
    const { app } = await keyedApp()
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/ready' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/docs/' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/docs/static/swagger-ui.css' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/openapi.json' })).statusCode).toBe(200)
    const unknown = await app.inject({ url: '/nowhere' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toEqual({ detail: 'Not Found' })
  })

  it('closes /docs and /openapi.json with AUTH_OPEN_DOCS=false, and opens them to any key', async () => {
    const { app } = await keyedApp({ AUTH_OPEN_DOCS: 'false' })
    for (const url of ['/docs/', '/docs/static/swagger-ui.css', '/openapi.json']) {
      const closed = await app.inject({ url })
      expect(closed.statusCode).toBe(401)
      expect(closed.headers['www-authenticate']).toBe('Bearer')
      expect((await app.inject({ url, headers: bearer(USE_KEY) })).statusCode).toBe(200)
    }
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200)
  })

  it('serves a request sent from Swagger UI with the Authorize header', async () => {
    const { app } = await keyedApp()
    const response = await app.inject(
      chat({
        ...bearer(USE_KEY),
        host: 'localhost:8000',
        origin: 'http://localhost:8000',
        referer: 'http://localhost:8000/docs/',
        'sec-fetch-site': 'same-origin',
      }),
    )
    expect(response.statusCode).toBe(200)
  })

  it("logs the key's name on the request's lines, never the key or its header", async () => {
    const { app, logs, logText } = await keyedApp()
    await app.inject(chat(bearer(USE_KEY)))
    await app.inject({ method: 'POST', url: '/documents', payload: {}, headers: bearer(USE_KEY) })
    await app.inject(chat(bearer(`${ADMIN_KEY}x`)))
    const completed = logs.filter((line) => line.msg === 'request completed')
    expect(completed.map((line) => line.apiKey)).toEqual(['web', 'web', undefined])
    expect(logText()).not.toContain(USE_KEY)
    expect(logText()).not.toContain(ADMIN_KEY)
    expect(logText()).not.toMatch(/authorization/i)
  })

  it('treats a route that declares no scope as admin-only', async () => {
    const { app } = await keyedApp()
    app.get('/undeclared', async () => ({ ok: true }))
    expect((await app.inject({ url: '/undeclared', headers: bearer(USE_KEY) })).statusCode).toBe(403)
    expect((await app.inject({ url: '/undeclared', headers: bearer(ADMIN_KEY) })).statusCode).toBe(200)
  })
})

describe('without API keys', () => {
  it('serves every route without a key, as before', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url }), {
      store: emptyDocumentStore(),
    })
    expect((await app.inject(chat())).statusCode).toBe(200)
    expect((await app.inject({ method: 'DELETE', url: '/documents/some-id' })).statusCode).toBe(404)
    expect((await app.inject(chat(bearer('junk')))).statusCode).toBe(200)
  })

  it('answers POST /auth/stream-token 404, saying no token is needed', async () => {
    const { app } = await openTestApp(testConfig())
    const response = await app.inject({ method: 'POST', url: '/auth/stream-token' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: 'no API keys are configured, so GET /stream needs no token' })
  })
})

describe('routes', () => {
  it('each declare the scope a key needs to call them', async () => {
    const { app } = await openTestApp(
      testConfig({ ...KEYS_ENVIRONMENT, CORS_ORIGINS: 'https://app.example' }),
    )
    const routes = app.routeAccess()
    expect(routes.length).toBeGreaterThan(20)
    expect(routes.filter((route) => route.scope === undefined)).toEqual([])
    const scopeOf = (method: string, url: string) =>
      routes.find((route) => route.method === method && route.url === url)?.scope
    expect(scopeOf('GET', '/health')).toBe('open')
    expect(scopeOf('GET', '/ready')).toBe('open')
    expect(scopeOf('GET', '/metrics')).toBe('open')
    expect(scopeOf('OPTIONS', '*')).toBe('open')
    expect(scopeOf('GET', '/docs/')).toBe('docs')
    expect(scopeOf('POST', '/chat')).toBe('use')
    expect(scopeOf('DELETE', '/documents/:id')).toBe('admin')
  })
})
