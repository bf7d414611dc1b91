import type { InjectOptions } from 'fastify'
import { describe, expect, it } from 'vitest'
import { useUpstreamAndApp } from './helpers.js'

const context = useUpstreamAndApp({ BODY_LIMIT_BYTES: '2048' })
const inject = (options: InjectOptions) => context.harness.app.inject(options)

const user = { role: 'user', content: 'hi' }

/** Each case: a /chat body and the one issue FastAPI would report for it. */
const invalidChatBodies: [string, unknown, { loc: (string | number)[]; type: string }][] = [
  ['messages missing', {}, { loc: ['body', 'messages'], type: 'missing' }],
  ['messages not a list', { messages: 'hi' }, { loc: ['body', 'messages'], type: 'invalid_type' }],
  ['messages empty', { messages: [] }, { loc: ['body', 'messages'], type: 'too_small' }],
  [
    'role missing',
    { messages: [{ content: 'hi' }] },
    { loc: ['body', 'messages', 0, 'role'], type: 'missing' },
  ],
  [
    'role unknown',
    { messages: [{ role: 'tool', content: 'hi' }] },
    { loc: ['body', 'messages', 0, 'role'], type: 'invalid_value' },
  ],
  [
    'content missing',
    { messages: [{ role: 'user' }] },
    { loc: ['body', 'messages', 0, 'content'], type: 'missing' },
  ],
  [
    'content empty',
    { messages: [{ role: 'user', content: '' }] },
    { loc: ['body', 'messages', 0, 'content'], type: 'too_small' },
  ],
  [
    'content not a string',
    { messages: [user, { role: 'user', content: 3 }] },
    { loc: ['body', 'messages', 1, 'content'], type: 'invalid_type' },
  ],
  ['model empty', { messages: [user], model: '' }, { loc: ['body', 'model'], type: 'too_small' }],
  ['model not a string', { messages: [user], model: 5 }, { loc: ['body', 'model'], type: 'invalid_type' }],
  [
    'temperature below 0',
    { messages: [user], temperature: -0.1 },
    { loc: ['body', 'temperature'], type: 'too_small' },
  ],
  [
    'temperature above 2',
    { messages: [user], temperature: 2.5 },
    { loc: ['body', 'temperature'], type: 'too_big' },
  ],
  [
    'temperature not a number',
    { messages: [user], temperature: 'hot' },
    { loc: ['body', 'temperature'], type: 'invalid_type' },
  ],
  ['body not an object', [user], { loc: ['body'], type: 'invalid_type' }],
]

describe('invalid input is a 422 in FastAPI shape and never reaches the upstream', () => {
  it.each(invalidChatBodies)('/chat: %s', async (_name, payload, expected) => {
    const before = context.upstream.received.length
    const response = await inject({ method: 'POST', url: '/chat', payload: payload as object })
    expect(response.statusCode).toBe(422)
    const { detail } = response.json()
    expect(detail).toHaveLength(1)
    expect(detail[0]).toMatchObject(expected)
    expect(detail[0].msg).toEqual(expect.any(String))
    expect(context.upstream.received.length).toBe(before)
  })

  it('reports every bad field at once', async () => {
    const response = await inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'robot', content: '' }], temperature: 9 },
    })
    expect(response.json().detail.map((issue: { loc: unknown[] }) => issue.loc)).toEqual([
      ['body', 'messages', 0, 'role'],
      ['body', 'messages', 0, 'content'],
      ['body', 'temperature'],
    ])
  })

  it('says "Field required" for a missing field, as FastAPI does', async () => {
    const response = await inject({ method: 'POST', url: '/chat', payload: {} })
    expect(response.json()).toEqual({
      detail: [{ loc: ['body', 'messages'], msg: 'Field required', type: 'missing' }],
    })
  })

  it('malformed JSON is a 422 json_invalid', async () => {
    const response = await inject({
      method: 'POST',
      url: '/chat',
      headers: { 'content-type': 'application/json' },
      payload: '{"messages": [',
    })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail).toEqual([
      { loc: ['body'], msg: expect.stringContaining('JSON decode error'), type: 'json_invalid' },
    ])
  })

  it('a body that is not JSON is a 422 naming the content type', async () => {
    const response = await inject({
      method: 'POST',
      url: '/chat',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail).toEqual([
      { loc: ['body'], msg: expect.stringContaining('text/plain'), type: 'content_type' },
    ])
  })

  it('a missing body is a 422 on the body', async () => {
    const response = await inject({ method: 'POST', url: '/chat' })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0].loc).toEqual(['body'])
  })

  it('a body over the limit is a 413 with a detail', async () => {
    const response = await inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [{ role: 'user', content: 'x'.repeat(4096) }] },
    })
    expect(response.statusCode).toBe(413)
    expect(response.json()).toEqual({ detail: 'Request body is larger than the limit of 2048 bytes' })
  })

  it('an unknown route is a 404 {"detail": "Not Found"}', async () => {
    const response = await inject({ method: 'GET', url: '/nowhere' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: 'Not Found' })
  })

  it('/safe: prompt missing from both query and body', async () => {
    const response = await inject({ method: 'POST', url: '/safe' })
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({
      detail: [{ loc: ['query', 'prompt'], msg: 'Field required', type: 'missing' }],
    })
  })

  it('/safe: empty prompt in the query', async () => {
    const response = await inject({ method: 'POST', url: '/safe?prompt=' })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['query', 'prompt'], type: 'too_small' })
  })

  it('/safe: empty model in the query', async () => {
    const response = await inject({ method: 'POST', url: '/safe?prompt=hi&model=' })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['query', 'model'], type: 'too_small' })
  })

  it('/safe: body without prompt', async () => {
    const response = await inject({ method: 'POST', url: '/safe', payload: { model: 'gpt-5' } })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['body', 'prompt'], type: 'missing' })
  })

  it('/safe: prompt given in both query and body', async () => {
    const response = await inject({
      method: 'POST',
      url: '/safe?prompt=a',
      payload: { prompt: 'b' },
    })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['query', 'prompt'], type: 'conflict' })
  })
})
