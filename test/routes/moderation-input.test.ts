import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ollamaJsonReply } from '../fakes/ollama.js'
import { sseReply } from '../fakes/openai.js'
import { buildTestApp, openTestApp, type TestApp, testConfig } from '../helpers.js'
import { parseMetrics, sumOf } from '../metrics-text.js'
import { useModerationSuite } from '../moderation-suite.js'

const BLOCKED = 'Project Nightingale'

let harness: TestApp
let app: FastifyInstance
const suite = useModerationSuite({
  rules: [{ id: 'card', pattern: '\\b4[0-9]{15}\\b', maxMatchChars: 16 }],
  maxInputChars: 200,
})

beforeAll(async () => {
  harness = await buildTestApp(
    testConfig(suite.environment({ MODERATION_BLOCKED_TERMS: `${BLOCKED}, internal only` })),
  )
  app = harness.app
})
afterAll(async () => {
  await app?.close()
})

const refusal = (rule: string, loc: (string | number)[]) => ({
  detail: [{ loc, msg: `Refused by the content policy (rule ${rule})`, type: 'content_policy' }],
})

const prompt = encodeURIComponent(`Tell me about ${BLOCKED}`)

/** Every generating route, with a request that carries the blocked phrase, and where it carries it. */
const refusedRequests = [
  {
    name: 'POST /chat (the second message)',
    request: {
      method: 'POST' as const,
      url: '/chat',
      payload: {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'user', content: `About ${BLOCKED}?` },
        ],
      },
    },
    loc: ['body', 'messages', 1, 'content'],
  },
  {
    name: 'POST /safe (query)',
    request: { method: 'POST' as const, url: `/safe?prompt=${prompt}` },
    loc: ['query', 'prompt'],
  },
  {
    name: 'POST /stream (body)',
    request: { method: 'POST' as const, url: '/stream', payload: { prompt: `About ${BLOCKED}` } },
    loc: ['body', 'prompt'],
  },
  {
    name: 'GET /stream (query)',
    request: { method: 'GET' as const, url: `/stream?prompt=${prompt}` },
    loc: ['query', 'prompt'],
  },
  {
    name: 'POST /local-chat (body)',
    request: { method: 'POST' as const, url: '/local-chat', payload: { prompt: `About ${BLOCKED}` } },
    loc: ['body', 'prompt'],
  },
  {
    name: 'POST /local-stream (query)',
    request: { method: 'POST' as const, url: `/local-stream?prompt=${prompt}` },
    loc: ['query', 'prompt'],
  },
  {
    name: 'POST /rag (the question)',
    request: { method: 'POST' as const, url: '/rag', payload: { query: `What is ${BLOCKED}?` } },
    loc: ['body', 'query'],
  },
]

describe('the input policy', () => {
  it.each(refusedRequests)(
    'refuses $name with 422 naming the rule and where, calling no model',
    async ({ request, loc }) => {
      const response = await app.inject(request)
      expect(response.statusCode).toBe(422)
      expect(response.json()).toEqual(refusal('blocked-terms', loc))
      expect(response.body.toLowerCase()).not.toContain('nightingale')
      expect(suite.openai.received).toEqual([])
      expect(suite.ollama.received).toEqual([])
    },
  )

  it('logs the rule that refused an input, never the input', async () => {
    const secret = 'internal only: the launch date'
    await app.inject({ method: 'POST', url: '/stream', payload: { prompt: secret } })
    expect(harness.logText()).toContain('Refused by the content policy (rule blocked-terms)')
    expect(harness.logText()).not.toContain('launch date')
  })

  it('refuses the phrase written in full-width letters with zero-width spaces', async () => {
    const disguised = 'ＰＲＯＪＥＣＴ Night\u200bin\u200dgale'
    const response = await app.inject({ method: 'POST', url: '/local-chat', payload: { prompt: disguised } })
    expect(response.json()).toEqual(refusal('blocked-terms', ['body', 'prompt']))
  })

  it("refuses text a policy file's regular expression matches, by the rule's id", async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/safe',
      payload: { prompt: 'card 4111111111111111' },
    })
    expect(response.json()).toEqual(refusal('card', ['body', 'prompt']))
  })

  it('refuses an input longer than maxInputChars as rule max_input_chars', async () => {
    const response = await app.inject({ method: 'POST', url: '/safe', payload: { prompt: 'a'.repeat(201) } })
    expect(response.json()).toEqual(refusal('max_input_chars', ['body', 'prompt']))
  })

  it('lets an input that only resembles a rule through to the model', async () => {
    suite.ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
    const response = await app.inject({
      method: 'POST',
      url: '/local-chat',
      payload: { prompt: 'Project Night-in-gale, card 41111111111111112, internal-only' },
    })
    expect(response.statusCode).toBe(200)
    expect(suite.ollama.received[0]?.json?.prompt).toBe(
      'Project Night-in-gale, card 41111111111111112, internal-only',
    )
  })

  it('streams as before when the input passes', async () => {
    suite.openai.enqueue(sseReply())
    const response = await app.inject({ method: 'POST', url: '/stream', payload: { prompt: 'Say hi' } })
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('data: {"done":true}')
  })

  it('counts refusals by rule and direction in the metrics', async () => {
    const before = sumOf(
      parseMetrics((await app.inject('/metrics')).body),
      'genai_moderation_blocked_total',
      {
        rule: 'card',
        direction: 'input',
      },
    )
    await app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'user', content: '4111111111111111' }] },
    })
    const after = parseMetrics((await app.inject('/metrics')).body)
    expect(sumOf(after, 'genai_moderation_blocked_total', { rule: 'card', direction: 'input' })).toBe(
      before + 1,
    )
  })

  it('is not installed at all when no policy is configured: the same input reaches the model', async () => {
    const { app: unmoderated } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: suite.openai.url, RAG_DATA_DIR: suite.directory }),
    )
    expect(unmoderated.inputModeration).toBeUndefined()
    const response = await unmoderated.inject({ method: 'POST', url: '/safe', payload: { prompt: BLOCKED } })
    expect(response.statusCode).toBe(200)
    expect(suite.openai.received).toHaveLength(1)
  })
})
