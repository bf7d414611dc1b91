import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { errorReply, openAIWithModeration } from '../fakes/openai.js'
import { buildTestApp, type TestApp, testConfig } from '../helpers.js'
import { useModerationSuite } from '../moderation-suite.js'

/** What the fake's moderation flags (as OpenAI would flag a threat). */
const THREAT = 'I will hurt you'

let harness: TestApp
let app: FastifyInstance
const suite = useModerationSuite()

beforeAll(async () => {
  harness = await buildTestApp(
    testConfig(suite.environment({ MODERATION_OPENAI: 'true', RETRY_ATTEMPTS: '1' })),
  )
  app = harness.app
})
afterAll(async () => {
  await app?.close()
})
beforeEach(() => {
  suite.openai.reset(openAIWithModeration(THREAT))
})

const chat = (...contents: string[]) =>
  app.inject({
    method: 'POST',
    url: '/chat',
    payload: { messages: contents.map((content) => ({ role: 'user', content })) },
  })

describe("OpenAI's moderation endpoint (MODERATION_OPENAI)", () => {
  it('asks omni-moderation-latest about every input in one call, before the model', async () => {
    const response = await chat('Hello', 'How are you?')
    expect(response.json()).toMatchObject({ text: 'Hi there! How can I help you today?' })
    expect(suite.openai.received.map((request) => request.url)).toEqual(['/v1/moderations', '/v1/responses'])
    expect(suite.openai.received[0]?.json).toEqual({
      model: 'omni-moderation-latest',
      input: ['Hello', 'How are you?'],
    })
  })

  it('refuses a flagged input with 422 naming its first category and where it is, calling no model', async () => {
    const response = await chat('Hello', THREAT)
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({
      detail: [
        {
          loc: ['body', 'messages', 1, 'content'],
          msg: 'Refused by the content policy (rule openai:harassment)',
          type: 'content_policy',
        },
      ],
    })
    expect(suite.openai.received.map((request) => request.url)).toEqual(['/v1/moderations'])
    expect(harness.logText()).not.toContain(THREAT)
  })

  it('refuses with 503 when the moderation endpoint fails (fail closed), calling no model', async () => {
    suite.openai.reset(errorReply(500))
    const response = await chat('Hello')
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ detail: 'Content moderation is unavailable; retry later' })
    expect(suite.openai.received.map((request) => request.url)).toEqual(['/v1/moderations'])
    expect(harness.logText()).toContain('OpenAI moderation failed: upstream_unavailable')
  })

  it('refuses with 503 when the moderation endpoint answers fewer results than inputs', async () => {
    suite.openai.reset({
      kind: 'json',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'modr-1', model: 'omni-moderation-latest', results: [] }),
    })
    const response = await chat('Hello')
    expect(response.statusCode).toBe(503)
    expect(harness.logText()).toContain('OpenAI moderation answered 0 results for 1 inputs')
  })

  it('checks the prompt of a streaming route before opening the stream', async () => {
    const response = await app.inject({ method: 'GET', url: `/stream?prompt=${encodeURIComponent(THREAT)}` })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0].loc).toEqual(['query', 'prompt'])
    expect(suite.openai.received.map((request) => request.url)).toEqual(['/v1/moderations'])
  })
})
