import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../../src/config.js'
import { describePeriod } from '../../../src/plugins/budgets/token-budget.js'
import { generateKey, hashKey } from '../../../src/plugins/key-ring.js'
import { ADMIN_KEY, bearer, KEYS_ENVIRONMENT, USE_KEY } from '../../access-keys.js'
import { emptyDocumentStore } from '../../fakes/document-store.js'
import { sseReply } from '../../fakes/openai.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../../helpers.js'
import { parseMetrics, sumOf } from '../../metrics-text.js'
import { readSse } from '../../sse-client.js'
import { waitFor } from '../../wait-for.js'

const context = useFakeOpenAI()
/** 10:00 UTC: a day's budget resets 14 hours later. */
const TEN_AM = Date.UTC(2026, 11, 2, 10)

/** An app with API keys and a token budget (the recorded answer costs 21 + 10 = 31 tokens). */
async function budgetedApp(environment: Record<string, string> = {}) {
  const clock = { now: TEN_AM }
  const config = testConfig({
    OPENAI_BASE_URL: context.upstream.url,
    TOKEN_BUDGET_PER_KEY: '31',
    ...KEYS_ENVIRONMENT,
    ...environment,
  })
  const harness = await openTestApp(config, { now: () => clock.now, store: emptyDocumentStore() })
  return { ...harness, clock }
}

const chat = (app: FastifyInstance, key = USE_KEY) =>
  app.inject({
    method: 'POST',
    url: '/chat',
    headers: bearer(key),
    payload: { messages: [{ role: 'user', content: 'hi' }] },
  })

describe('token budgets', () => {
  it('refuses a key that used its budget with 429, the reset time and Retry-After, before any upstream call', async () => {
    const { app } = await budgetedApp()
    expect((await chat(app)).statusCode).toBe(200)
    const refused = await chat(app)
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toEqual({
      detail: 'token budget of 31 tokens per day used up; resets at 2026-12-03T00:00:00.000Z',
    })
    expect(refused.headers['retry-after']).toBe(String(14 * 3600))
    expect(context.upstream.received).toHaveLength(1)
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(sumOf(parseMetrics(metrics.body), 'genai_token_budget_rejections_total')).toBe(1)
  })

  it('counts per key: another key still has its budget', async () => {
    const { app } = await budgetedApp()
    await chat(app, USE_KEY)
    expect((await chat(app, USE_KEY)).statusCode).toBe(429)
    expect((await chat(app, ADMIN_KEY)).statusCode).toBe(200)
  })

  it('serves the key again once the period is over', async () => {
    const { app, clock } = await budgetedApp()
    await chat(app)
    expect((await chat(app)).statusCode).toBe(429)
    clock.now = Date.UTC(2026, 11, 3)
    expect((await chat(app)).statusCode).toBe(200)
  })

  it('charges a stream the usage of its end event', async () => {
    context.upstream.reset(sseReply('openai-responses-stream-gpt5.sse'))
    const { app } = await budgetedApp({ TOKEN_BUDGET_PER_KEY: '223', TOKEN_BUDGET_PERIOD_MS: '3600000' })
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`, { headers: bearer(USE_KEY) }))
    expect(stream.last).toEqual({ done: true })
    // 21 + 202 = 223 tokens: the budget is used up once the response has finished and been charged.
    await waitFor(async () => (await chat(app)).statusCode === 429)
    const refused = await chat(app)
    expect(refused.json().detail).toBe(
      'token budget of 223 tokens per hour used up; resets at 2026-12-02T11:00:00.000Z',
    )
  })

  it('leaves routes that call no model alone, over budget or not', async () => {
    const { app } = await budgetedApp()
    await chat(app)
    const documents = await app.inject({ method: 'GET', url: '/documents', headers: bearer(USE_KEY) })
    expect(documents.statusCode).not.toBe(429)
  })

  it('says periods the way people do', () => {
    expect([86_400_000, 604_800_000, 3_600_000, 90_000, 1_500].map(describePeriod)).toEqual([
      'day',
      '7 days',
      'hour',
      '90 seconds',
      '1500 ms',
    ])
  })

  it('is refused at boot without API keys: a budget is per key', () => {
    expect(() => parseConfig({ TOKEN_BUDGET_PER_KEY: '1000' })).toThrow(ConfigError)
    expect(() => parseConfig({ TOKEN_BUDGET_PER_KEY: '1000' })).toThrow(
      /TOKEN_BUDGET_PER_KEY: needs API keys/,
    )
  })
})

describe('a key’s own budget (limits.tokensPerPeriod in the keys file)', () => {
  let directory: string
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'token-budget-'))
  })
  afterAll(() => rm(directory, { recursive: true, force: true }))

  it('replaces TOKEN_BUDGET_PER_KEY for that key', async () => {
    const generous = generateKey()
    const file = join(directory, 'keys.json')
    const keys = [{ name: 'batch', scope: 'use', sha256: hashKey(generous), limits: { tokensPerPeriod: 62 } }]
    await writeFile(file, JSON.stringify({ keys }))
    const { app } = await budgetedApp({ API_KEYS_FILE: file, API_KEY_HASHES: '' })
    const statuses = [await chat(app, generous), await chat(app, generous), await chat(app, generous)]
    expect(statuses.map((response) => response.statusCode)).toEqual([200, 200, 429])
    expect(statuses[2]?.json().detail).toMatch(/^token budget of 62 tokens per day used up/)
  })
})
