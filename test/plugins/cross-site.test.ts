import { describe, expect, it } from 'vitest'
import { bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const fake = useFakeOpenAI()

const OWN = 'http://localhost'
const EVIL = 'https://evil.example'
const APP = 'https://app.example'

async function appWith(environment: Record<string, string> = {}) {
  const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...environment }))
  return app
}

/** A body-less `POST /safe?prompt=`: what any web page can make a browser send without a preflight. */
const safe = (headers: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/safe?prompt=hi',
  headers: { host: 'localhost', ...headers },
})

describe('without API keys, a browser request another site sent', () => {
  it.each([
    ['Sec-Fetch-Site: cross-site with an Origin', { 'sec-fetch-site': 'cross-site', origin: EVIL }],
    ['Sec-Fetch-Site: cross-site without an Origin', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
    ['an Origin of another host (a browser without Sec-Fetch-*)', { origin: EVIL }],
    ['Origin: null (a sandboxed frame, a file)', { origin: 'null' }],
    ['an Origin on our host but another port', { origin: 'http://localhost:8080' }],
  ])('is refused 403 before any upstream call: %s', async (_case, headers) => {
    const app = await appWith()
    const response = await app.inject(safe(headers))
    expect(response.statusCode).toBe(403)
    expect(response.json().detail).toMatch(/^cross-site request refused: /)
    expect(fake.upstream.received).toHaveLength(0)
  })

  it('is refused on GET /stream?prompt= too', async () => {
    const app = await appWith()
    const response = await app.inject({
      url: '/stream?prompt=hi',
      headers: { 'sec-fetch-site': 'cross-site' },
    })
    expect(response.statusCode).toBe(403)
    expect(fake.upstream.received).toHaveLength(0)
  })

  it.each([
    ['curl or a server (neither header)', {}],
    ['a same-origin page', { 'sec-fetch-site': 'same-origin', origin: OWN }],
    ['our origin with the default port written out', { origin: 'http://localhost:80' }],
    ['an address typed by the user', { 'sec-fetch-site': 'none' }],
  ])('is not what %s sends: served', async (_case, headers) => {
    const app = await appWith()
    expect((await app.inject(safe(headers))).statusCode).toBe(200)
  })

  it('is served when CORS_ORIGINS lists its origin, or is *', async () => {
    const listed = await appWith({ CORS_ORIGINS: APP })
    expect((await listed.inject(safe({ 'sec-fetch-site': 'cross-site', origin: APP }))).statusCode).toBe(200)
    expect((await listed.inject(safe({ 'sec-fetch-site': 'cross-site', origin: EVIL }))).statusCode).toBe(403)
    const any = await appWith({ CORS_ORIGINS: '*' })
    expect((await any.inject(safe({ 'sec-fetch-site': 'cross-site', origin: EVIL }))).statusCode).toBe(200)
  })

  it('may still read the open routes: /health, /docs', async () => {
    const app = await appWith()
    const headers = { 'sec-fetch-site': 'cross-site', origin: EVIL }
    expect((await app.inject({ url: '/health', headers })).statusCode).toBe(200)
    expect((await app.inject({ url: '/docs/', headers })).statusCode).toBe(200)
  })
})

describe('with API keys, a cross-site request', () => {
  it('needs the key like any other: 401 without, served with', async () => {
    const app = await appWith(KEYS_ENVIRONMENT)
    const headers = { 'sec-fetch-site': 'cross-site', origin: EVIL }
    expect((await app.inject(safe(headers))).statusCode).toBe(401)
    expect(fake.upstream.received).toHaveLength(0)
    expect((await app.inject(safe({ ...headers, ...bearer(USE_KEY) }))).statusCode).toBe(200)
  })
})
