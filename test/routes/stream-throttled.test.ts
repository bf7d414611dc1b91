import { describe, expect, it } from 'vitest'
import { fixtureReply } from '../fakes/openai.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const context = useFakeOpenAI()

/** The app with three attempts per stream; the fake answers every one of them with `reply`. */
async function throttledStream(headers: Record<string, string>, name = 'openai-error-429') {
  context.upstream.reset(fixtureReply(name, { head: 'openai-error-429', headers }))
  const { app } = await openTestApp(
    testConfig({ OPENAI_BASE_URL: context.upstream.url, RETRY_ATTEMPTS: '3' }),
  )
  return app
}

describe('a stream whose retries are spent on the provider rate limiting (429)', () => {
  it("answers 429 with the provider's Retry-After, not the 503 of an outage", async () => {
    const app = await throttledStream({ 'retry-after': '1' })
    const response = await app.inject({ method: 'POST', url: '/stream', payload: { prompt: 'hi' } })
    expect(context.upstream.received).toHaveLength(3)
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBe('1')
    expect(response.json()).toEqual({ detail: 'The AI provider is rate limiting requests; retry later' })
  })

  it("rounds the provider's retry-after-ms up to whole seconds", async () => {
    const app = await throttledStream({ 'retry-after': '', 'retry-after-ms': '2500' })
    const response = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBe('3')
  })

  it('says Retry-After: 1 when the provider named no delay', async () => {
    const app = await throttledStream({ 'retry-after': '' })
    const response = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBe('1')
  })

  it('stays 502 when the 429 is an exhausted quota: the operator must act, not the client', async () => {
    const app = await throttledStream({}, 'openai-error-429-insufficient-quota')
    const response = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(response.statusCode).toBe(502)
  })

  it('/safe keeps the chapter\'s 503 "AI service unavailable"', async () => {
    const app = await throttledStream({ 'retry-after': '0' })
    const response = await app.inject({ method: 'POST', url: '/safe?prompt=hi' })
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ detail: 'AI service unavailable' })
  })
})
