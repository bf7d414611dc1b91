import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, fakeApiKeys } from '../fake-api-keys.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { startFakeOllama } from '../fakes/ollama.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const openai = useFakeOpenAI()
let ollama: FakeUpstream
beforeAll(async () => {
  ollama = await startFakeOllama()
})
afterAll(async () => {
  await ollama.close()
})

const ALLOWED = 'gpt-5, gpt-5-mini, llama3.2'

async function appAllowing(allowed = ALLOWED): Promise<FastifyInstance> {
  const config = testConfig({
    OPENAI_BASE_URL: openai.upstream.url,
    OLLAMA_HOST: ollama.url,
    ALLOWED_MODELS: allowed,
    DEFAULT_MODEL: 'gpt-5',
    OLLAMA_DEFAULT_MODEL: 'llama3.2',
  })
  const keys = fakeApiKeys({ name: 'mini-only', scope: 'use', models: ['gpt-5-mini'] })
  const { app } = await openTestApp(config, { setUp: keys, store: emptyDocumentStore() })
  return app
}

const notAllowed = (location: 'body' | 'query', allowed: string) => ({
  detail: [
    {
      loc: [location, 'model'],
      msg: `Model not allowed; allowed models: ${allowed}`,
      type: 'model_not_allowed',
    },
  ],
})

const ALL = 'gpt-5, gpt-5-mini, llama3.2'
const hi = [{ role: 'user', content: 'hi' }]

describe('ALLOWED_MODELS', () => {
  const refusals: [string, InjectOptions, 'body' | 'query'][] = [
    ['/chat', { method: 'POST', url: '/chat', payload: { messages: hi, model: 'o3' } }, 'body'],
    ['/safe (query)', { method: 'POST', url: '/safe?prompt=hi&model=o3' }, 'query'],
    ['/safe (body)', { method: 'POST', url: '/safe', payload: { prompt: 'hi', model: 'o3' } }, 'body'],
    ['GET /stream', { method: 'GET', url: '/stream?prompt=hi&model=o3' }, 'query'],
    ['POST /stream', { method: 'POST', url: '/stream', payload: { prompt: 'hi', model: 'o3' } }, 'body'],
    ['/local-chat', { method: 'POST', url: '/local-chat?prompt=hi&model=qwen3' }, 'query'],
    [
      '/local-stream',
      { method: 'POST', url: '/local-stream', payload: { prompt: 'hi', model: 'qwen3' } },
      'body',
    ],
    ['/rag', { method: 'POST', url: '/rag', payload: { query: 'hi', model: 'o3' } }, 'body'],
    [
      '/rag (stream)',
      { method: 'POST', url: '/rag', payload: { query: 'hi', model: 'o3', stream: true } },
      'body',
    ],
  ]

  it.each(refusals)(
    '%s: another model is a 422 naming the allowed ones, and no upstream is called',
    async (_name, request, location) => {
      const app = await appAllowing()
      const calls = openai.upstream.received.length + ollama.received.length
      const response = await app.inject(request)
      expect(response.statusCode).toBe(422)
      expect(response.json()).toEqual(notAllowed(location, ALL))
      expect(openai.upstream.received.length + ollama.received.length).toBe(calls)
    },
  )

  it('serves an allowed model, and the default when the request names none', async () => {
    const app = await appAllowing()
    const named = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: hi, model: 'gpt-5-mini' },
    })
    expect(named.statusCode).toBe(200)
    expect(openai.upstream.received.at(-1)?.json?.model).toBe('gpt-5-mini')
    const defaulted = await app.inject({ method: 'POST', url: '/chat', payload: { messages: hi } })
    expect(defaulted.statusCode).toBe(200)
    expect(openai.upstream.received.at(-1)?.json?.model).toBe('gpt-5')
  })

  it("replaces the global list with an API key's own", async () => {
    const app = await appAllowing()
    const chat = (model?: string) =>
      app.inject({
        method: 'POST',
        url: '/chat',
        headers: bearer('mini-only'),
        payload: { messages: hi, model },
      })
    expect((await chat('gpt-5-mini')).statusCode).toBe(200)
    const refused = await chat('gpt-5')
    expect(refused.json()).toEqual(notAllowed('body', 'gpt-5-mini'))
    // The server's default is outside the key's list: the key must name its model.
    expect((await chat()).json()).toEqual(notAllowed('body', 'gpt-5-mini'))
    const stream = await app.inject({ method: 'GET', url: '/stream?prompt=hi', headers: bearer('mini-only') })
    expect(stream.json()).toEqual(notAllowed('query', 'gpt-5-mini'))
  })

  it('allows any model when unset', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: openai.upstream.url }))
    const response = await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: hi, model: 'o3' },
    })
    expect(response.statusCode).toBe(200)
  })
})
