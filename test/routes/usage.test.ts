import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, fakeApiKeys } from '../fake-api-keys.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { ollamaJsonReply, startFakeOllama } from '../fakes/ollama.js'
import { sseReply } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { openTestApp, type TestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { parseMetrics, sumOf } from '../metrics-text.js'
import { waitFor } from '../wait-for.js'

const context = useFakeOpenAI()
let ollama: FakeUpstream
beforeAll(async () => {
  ollama = await startFakeOllama()
})
afterAll(async () => {
  await ollama?.close()
})

async function app(environment: Record<string, string> = {}) {
  const config = testConfig({
    OPENAI_BASE_URL: context.upstream.url,
    OLLAMA_HOST: ollama.url,
    ...environment,
  })
  return openTestApp(config, {
    setUp: fakeApiKeys({ name: 'team-a', scope: 'use' }),
    store: emptyDocumentStore(),
  })
}

/** The access-log line of the request with this id, once written. */
async function accessLine(harness: TestApp, requestId: string) {
  const find = () => harness.logs.find((line) => line.reqId === requestId && line.msg === 'request completed')
  await waitFor(() => find() !== undefined)
  return find() as Record<string, unknown>
}

async function tokens(target: FastifyInstance, labels: Record<string, string>) {
  const samples = parseMetrics((await target.inject({ method: 'GET', url: '/metrics' })).body)
  return sumOf(samples, 'genai_tokens_total', labels)
}

const headers = (requestId: string) => ({ ...bearer('team-a'), 'x-request-id': requestId })

describe('token usage', () => {
  it('/chat: the access-log line has the upstream’s usage, and the metrics count it by key and model', async () => {
    const harness = await app()
    const response = await harness.app.inject({
      method: 'POST',
      url: '/chat',
      headers: headers('chat-usage'),
      payload: { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(response.statusCode).toBe(200)
    const line = await accessLine(harness, 'chat-usage')
    expect(line.usage).toEqual({ inputTokens: 21, outputTokens: 10, reasoningTokens: 0 })
    expect(line.cache).toBeUndefined()
    const series = { key: 'team-a', model: 'gpt-4.1-mini' }
    expect(await tokens(harness.app, { ...series, direction: 'input' })).toBe(21)
    expect(await tokens(harness.app, { ...series, direction: 'output' })).toBe(10)
  })

  it('/stream: the end event’s usage, reasoning tokens included, reaches the log line and the metrics', async () => {
    context.upstream.reset(sseReply('openai-responses-stream-gpt5.sse'))
    const harness = await app()
    const response = await harness.app.inject({
      method: 'GET',
      url: '/stream?prompt=hi',
      headers: headers('s'),
    })
    expect(response.statusCode).toBe(200)
    const line = await accessLine(harness, 's')
    expect(line.usage).toEqual({ inputTokens: 21, outputTokens: 202, reasoningTokens: 192 })
    expect(await tokens(harness.app, { key: 'team-a', direction: 'reasoning' })).toBe(192)
  })

  it('/local-chat: Ollama’s prompt_eval_count and eval_count are the input and output tokens', async () => {
    ollama.reset(ollamaJsonReply('ollama-generate.json'))
    const harness = await app()
    await harness.app.inject({ method: 'POST', url: '/local-chat?prompt=hi', headers: headers('local') })
    const line = await accessLine(harness, 'local')
    expect(line.usage).toEqual({ inputTokens: 31, outputTokens: 10, reasoningTokens: 0 })
    expect(await tokens(harness.app, { provider: 'ollama', key: 'team-a', direction: 'input' })).toBe(31)
  })

  it('a cache hit spends no tokens: its log line says `cache: hit` and has no usage', async () => {
    const harness = await app({ RESPONSE_CACHE: 'true' })
    const ask = (id: string) =>
      harness.app.inject({ method: 'POST', url: '/safe?prompt=hi', headers: headers(id) })
    await ask('first')
    await ask('second')
    expect((await accessLine(harness, 'first')).cache).toBe('miss')
    const hit = await accessLine(harness, 'second')
    expect([hit.cache, hit.usage]).toEqual(['hit', undefined])
    expect(await tokens(harness.app, { key: 'team-a', direction: 'input' })).toBe(21)
  })

  it('a request that calls no model (refused input) has neither field', async () => {
    const harness = await app()
    const response = await harness.app.inject({
      method: 'POST',
      url: '/chat',
      headers: headers('refused'),
      payload: { messages: [] },
    })
    expect(response.statusCode).toBe(422)
    const line = await accessLine(harness, 'refused')
    expect(Object.keys(line)).not.toContain('usage')
    expect(Object.keys(line)).not.toContain('cache')
  })
})
