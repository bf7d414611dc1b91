import type { FastifyInstance } from 'fastify'
import { expect, it, onTestFinished } from 'vitest'
import { TOKEN_BUDGET_REDIS_PREFIX } from '../../src/plugins/budgets/redis-budget-counters.js'
import { ANSWER_CACHE_REDIS_PREFIX } from '../../src/plugins/cache/redis-answer-store.js'
import { bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { describeWithRedis, startRedis, useRedis } from '../redis-server.js'
import { waitFor } from '../wait-for.js'

const context = useFakeOpenAI()

const chat = (app: FastifyInstance) =>
  app.inject({
    method: 'POST',
    url: '/chat',
    headers: bearer(USE_KEY),
    payload: { messages: [{ role: 'user', content: 'hi' }] },
  })

/** An instance of the server on `redisUrl`, with API keys, the response cache on and the limits off. */
function instance(redisUrl: string, environment: Record<string, string> = {}) {
  const config = testConfig({
    OPENAI_BASE_URL: context.upstream.url,
    REDIS_URL: redisUrl,
    RATE_LIMIT_MAX: '0',
    STREAMS_PER_CLIENT: '0',
    RESPONSE_CACHE: 'true',
    ...KEYS_ENVIRONMENT,
    ...environment,
  })
  return openTestApp(config, { store: emptyDocumentStore() })
}

describeWithRedis('the response cache and token budgets in Redis', () => {
  const shared = useRedis()

  it('two instances share the cache: an answer one fetched is a hit on the other', async () => {
    const [first, second] = [await instance(shared.redis.url), await instance(shared.redis.url)]
    expect((await chat(first.app)).headers['x-cache']).toBe('miss')
    await waitFor(async () => (await shared.admin.keys(`${ANSWER_CACHE_REDIS_PREFIX}*`)).length === 1)
    const hit = await chat(second.app)
    expect([hit.headers['x-cache'], hit.json().text]).toEqual(['hit', 'Hi there! How can I help you today?'])
    expect(context.upstream.received).toHaveLength(1)
    const [key] = await shared.admin.keys(`${ANSWER_CACHE_REDIS_PREFIX}*`)
    expect(await shared.admin.pttl(key as string)).toBeGreaterThan(250_000)
  })

  it('reads anything but a stored answer under a key as a miss, and replaces it', async () => {
    const { app } = await instance(shared.redis.url)
    const stored = async () => {
      const [key] = await shared.admin.keys(`${ANSWER_CACHE_REDIS_PREFIX}*`)
      return key !== undefined && (await shared.admin.get(key))?.includes('"storedAt"') === true
    }
    await chat(app)
    await waitFor(stored)
    const [key] = await shared.admin.keys(`${ANSWER_CACHE_REDIS_PREFIX}*`)
    for (const unusable of ['{"text": 42', JSON.stringify({ text: 'no model, no time' })]) {
      await shared.admin.set(key as string, unusable)
      expect((await chat(app)).headers['x-cache']).toBe('miss')
      await waitFor(stored)
    }
    expect((await chat(app)).headers['x-cache']).toBe('hit')
    expect(context.upstream.received).toHaveLength(3)
  })

  it('two instances share a key’s token budget', async () => {
    const budget = { RESPONSE_CACHE: 'false', TOKEN_BUDGET_PER_KEY: '62' }
    const [first, second] = [
      await instance(shared.redis.url, budget),
      await instance(shared.redis.url, budget),
    ]
    expect((await chat(first.app)).statusCode).toBe(200)
    expect((await chat(second.app)).statusCode).toBe(200)
    await waitFor(async () => (await shared.admin.keys(`${TOKEN_BUDGET_REDIS_PREFIX}*`)).length === 1)
    const [counter] = await shared.admin.keys(`${TOKEN_BUDGET_REDIS_PREFIX}*`)
    expect(counter).toMatch(/^genai:tokens:web:\d+$/)
    await waitFor(async () => (await shared.admin.get(counter as string)) === '62')
    const refused = await chat(first.app)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().detail).toMatch(/^token budget of 62 tokens per day used up; resets at /)
    expect(context.upstream.received).toHaveLength(2)
  })
})

describeWithRedis('Redis going away under the cache and the budgets', () => {
  it('the cache reads as a miss and the request is served from the upstream, with one warning', async () => {
    const doomed = await startRedis()
    onTestFinished(() => doomed.stop())
    const { app, logs } = await instance(doomed.url)
    await doomed.stop()
    const answers = [await chat(app), await chat(app)]
    expect(answers.map((answer) => [answer.statusCode, answer.headers['x-cache']])).toEqual([
      [200, 'miss'],
      [200, 'miss'],
    ])
    expect(context.upstream.received).toHaveLength(2)
    const warnings = logs.filter((line) =>
      String(line.msg).startsWith('Redis unreachable: the response cache'),
    )
    expect(warnings).toHaveLength(1)
  })

  it('a budget that cannot be read: served when failing open, 503 when closed', async () => {
    const doomed = await startRedis()
    onTestFinished(() => doomed.stop())
    const budget = { RESPONSE_CACHE: 'false', TOKEN_BUDGET_PER_KEY: '1' }
    const open = await instance(doomed.url, budget)
    const closed = await instance(doomed.url, { ...budget, RATE_LIMIT_REDIS_FAILURE: 'closed' })
    await doomed.stop()
    expect((await chat(open.app)).statusCode).toBe(200)
    const refused = await chat(closed.app)
    expect(refused.statusCode).toBe(503)
    expect(refused.json()).toEqual({ detail: 'Rate limits cannot be checked right now; retry later' })
    await waitFor(() =>
      open.logs.some((line) =>
        String(line.msg).startsWith('Redis unreachable: tokens used could not be charged'),
      ),
    )
  })
})
