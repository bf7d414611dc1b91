import { type ErrorEvent, EventSource } from 'eventsource'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ADMIN_KEY, bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { sseReply } from '../fakes/openai.js'
import { openTestApp, serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const fake = useFakeOpenAI()
const SECRET = 'a-stream-token-secret-of-32-chars!!'

/** An app with keys whose clock the test moves. */
async function keyedServer(environment: Record<string, string> = {}) {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') }
  const config = testConfig({
    OPENAI_BASE_URL: fake.upstream.url,
    STREAM_TOKEN_SECRET: SECRET,
    ...KEYS_ENVIRONMENT,
    ...environment,
  })
  const harness = await serveTestApp(config, { now: () => clock.now })
  return { ...harness, clock }
}

async function tokenFor(base: string, key: string): Promise<string> {
  const response = await fetch(`${base}/auth/stream-token`, { method: 'POST', headers: bearer(key) })
  expect(response.status).toBe(200)
  return ((await response.json()) as { token: string }).token
}

/** Opens an EventSource and collects its messages until `done`, or the HTTP status it failed with. */
function listen(url: string): Promise<{ contents: string[]; failedWith?: number }> {
  const source = new EventSource(url)
  onTestFinished(() => source.close())
  const contents: string[] = []
  return new Promise((resolve) => {
    source.onmessage = (event) => {
      const data = JSON.parse(event.data)
      if (data.done) {
        source.close()
        resolve({ contents })
      } else contents.push(data.content)
    }
    source.onerror = (event) => {
      source.close()
      resolve({ contents, failedWith: (event as ErrorEvent).code })
    }
  })
}

const streamUrl = (base: string, token: string) =>
  `${base}/stream?prompt=${encodeURIComponent('Say hi')}&access_token=${encodeURIComponent(token)}`

describe('stream tokens', () => {
  it('trades a key for a token with which a real EventSource reads GET /stream', async () => {
    fake.upstream.reset(sseReply())
    const { base } = await keyedServer()
    const response = await fetch(`${base}/auth/stream-token`, { method: 'POST', headers: bearer(USE_KEY) })
    const body = (await response.json()) as { token: string; expires_in: number }
    expect(body).toEqual({ token: expect.any(String), expires_in: 300 })
    const result = await listen(streamUrl(base, body.token))
    expect(result.failedWith).toBeUndefined()
    expect(result.contents.join('')).toBe('Hi there! How can I help you today?')
  })

  it('gives an admin key a token too, and a request without a key a 401', async () => {
    const { base } = await keyedServer()
    await tokenFor(base, ADMIN_KEY)
    const refused = await fetch(`${base}/auth/stream-token`, { method: 'POST' })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toBe('Bearer')
  })

  it('refuses a token once STREAM_TOKEN_TTL_S has passed on the clock, not a second before', async () => {
    fake.upstream.reset(sseReply())
    const { base, clock } = await keyedServer({ STREAM_TOKEN_TTL_S: '60' })
    const token = await tokenFor(base, USE_KEY)
    clock.now += 59_999
    expect((await listen(streamUrl(base, token))).failedWith).toBeUndefined()
    clock.now += 1
    expect(await listen(streamUrl(base, token))).toEqual({ contents: [], failedWith: 401 })
    const response = await fetch(streamUrl(base, token))
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ detail: 'Not authenticated' })
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
  })

  it.each([
    ['a changed signature', (token: string) => `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`],
    [
      'a payload naming another key',
      (token: string) => {
        const [payload, signature] = token.split('.') as [string, string]
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
        const forged = Buffer.from(JSON.stringify({ ...claims, name: 'ops', scope: 'admin' })).toString(
          'base64url',
        )
        return `${forged}.${signature}`
      },
    ],
    ['no signature', (token: string) => token.split('.')[0] as string],
    ['junk', () => 'not-a-token'],
  ])('refuses a token with %s', async (_case, tamper) => {
    const { base } = await keyedServer()
    const token = await tokenFor(base, USE_KEY)
    expect((await fetch(streamUrl(base, tamper(token)))).status).toBe(401)
  })

  it('is not a key: no other route takes it, as a header or a parameter', async () => {
    const { base } = await keyedServer()
    const token = await tokenFor(base, USE_KEY)
    const chat = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })
    const json = { 'content-type': 'application/json' }
    const attempts = [
      fetch(`${base}/chat`, { method: 'POST', headers: { ...json, ...bearer(token) }, body: chat }),
      fetch(`${base}/chat?access_token=${token}`, { method: 'POST', headers: json, body: chat }),
      fetch(`${base}/stream?access_token=${token}`, {
        method: 'POST',
        headers: json,
        body: '{"prompt":"hi"}',
      }),
      fetch(`${base}/stream?prompt=hi`, { headers: bearer(token) }),
      fetch(`${base}/auth/stream-token`, { method: 'POST', headers: bearer(token) }),
    ]
    expect((await Promise.all(attempts)).map((response) => response.status)).toEqual([
      401, 401, 401, 401, 401,
    ])
    expect(fake.upstream.received).toHaveLength(0)
  })

  it('works on another instance with the same STREAM_TOKEN_SECRET, and dies with its key', async () => {
    fake.upstream.reset(sseReply())
    const { base } = await keyedServer()
    const token = await tokenFor(base, USE_KEY)
    const sibling = await keyedServer()
    expect((await listen(streamUrl(sibling.base, token))).failedWith).toBeUndefined()
    const otherSecret = await keyedServer({ STREAM_TOKEN_SECRET: `${SECRET}-rotated` })
    expect((await fetch(streamUrl(otherSecret.base, token))).status).toBe(401)
    const keyRemoved = await keyedServer({
      API_KEY_HASHES: KEYS_ENVIRONMENT.API_KEY_HASHES.split(',')[1] as string,
    })
    expect((await fetch(streamUrl(keyRemoved.base, token))).status).toBe(401)
  })

  it('never shows the token in a log line: the access log masks access_token', async () => {
    fake.upstream.reset(sseReply())
    const { base, logs, logText } = await keyedServer()
    const token = await tokenFor(base, USE_KEY)
    await listen(streamUrl(base, token))
    await fetch(streamUrl(base, `${token}x`))
    expect(logText()).not.toContain(token)
    expect(logText()).not.toContain(token.split('.')[1])
    const urls = logs
      .filter((line) => line.msg === 'request completed')
      .map((line) => (line.req as { url: string }).url)
    expect(urls).toContain('/stream?prompt=[redacted]&access_token=[redacted]')
  })

  it('draws a random secret per process when STREAM_TOKEN_SECRET is unset', async () => {
    const first = await keyedServer({ STREAM_TOKEN_SECRET: '' })
    const second = await keyedServer({ STREAM_TOKEN_SECRET: '' })
    const token = await tokenFor(first.base, USE_KEY)
    expect((await fetch(streamUrl(second.base, token))).status).toBe(401)
  })
})

describe('STREAM_TOKEN_SECRET', () => {
  it('is masked in logs like any configured secret', async () => {
    const { app, logText } = await openTestApp(
      testConfig({ STREAM_TOKEN_SECRET: SECRET, ...KEYS_ENVIRONMENT }),
    )
    app.log.info(`something quoted ${SECRET}`)
    expect(logText()).not.toContain(SECRET)
  })

  it('must be 32 characters or more', () => {
    expect(() => testConfig({ STREAM_TOKEN_SECRET: 'short' })).toThrow(
      /STREAM_TOKEN_SECRET: must be at least 32/,
    )
  })
})
