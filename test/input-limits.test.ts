import type { InjectOptions } from 'fastify'
import { describe, expect, it } from 'vitest'
import {
  MAX_MESSAGES,
  MAX_MODEL_CHARACTERS,
  MAX_QUESTION_CHARACTERS,
  MAX_TEXT_CHARACTERS,
} from '../src/schemas/text.js'
import { useUpstreamAndApp } from './helpers.js'

// The default body limit (1 MiB): every case below fits in it, so the 422 comes from the field's own limit.
const context = useUpstreamAndApp()

const user = (content: string) => ({ role: 'user', content })
const BLANKS = [' ', '   ', '\n\t ', '\u00a0\u2003', '\r\n']

/** Each case: a request and where its one issue is. */
type Case = [string, InjectOptions, (string | number)[]]

const blankCases = (blank: string): Case[] => {
  const query = encodeURIComponent(blank)
  return [
    [
      '/chat message',
      { method: 'POST', url: '/chat', payload: { messages: [user(blank)] } },
      ['body', 'messages', 0, 'content'],
    ],
    [
      '/chat model',
      { method: 'POST', url: '/chat', payload: { messages: [user('hi')], model: blank } },
      ['body', 'model'],
    ],
    ...['/safe', '/stream', '/local-chat', '/local-stream'].flatMap((url): Case[] => [
      [`${url} query prompt`, { method: 'POST', url: `${url}?prompt=${query}` }, ['query', 'prompt']],
      [`${url} body prompt`, { method: 'POST', url, payload: { prompt: blank } }, ['body', 'prompt']],
      [`${url} query model`, { method: 'POST', url: `${url}?prompt=hi&model=${query}` }, ['query', 'model']],
    ]),
    ['GET /stream prompt', { method: 'GET', url: `/stream?prompt=${query}` }, ['query', 'prompt']],
    ['/rag query', { method: 'POST', url: `/rag?query=${query}` }, ['query', 'query']],
    ['/rag body', { method: 'POST', url: '/rag', payload: { query: blank } }, ['body', 'query']],
    [
      '/documents text',
      { method: 'POST', url: '/documents', payload: { documents: [{ text: blank }] } },
      ['body', 'documents', 0, 'text'],
    ],
  ]
}

describe('a text input that is only whitespace is a 422 that says so, and nothing is called', () => {
  it.each(
    BLANKS.flatMap((blank) =>
      blankCases(blank).map(
        ([name, request, loc]): Case => [`${name} ${JSON.stringify(blank)}`, request, loc],
      ),
    ),
  )('%s', async (_name, request, loc) => {
    const before = context.upstream.received.length
    const response = await context.harness.app.inject(request)
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({
      detail: [{ loc, msg: 'must not be empty or only whitespace', type: 'invalid_format' }],
    })
    expect(context.upstream.received.length).toBe(before)
  })

  it('an empty message reports only too_small, as FastAPI does for min_length', async () => {
    const response = await context.harness.app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [user('')] },
    })
    expect(response.json().detail).toEqual([
      { loc: ['body', 'messages', 0, 'content'], msg: expect.any(String), type: 'too_small' },
    ])
  })

  it('text with whitespace around it is accepted as sent', async () => {
    const response = await context.harness.app.inject({
      method: 'POST',
      url: '/chat',
      payload: { messages: [user('  hi\n')] },
    })
    expect(response.statusCode).toBe(200)
    expect(context.upstream.received.at(-1)?.json).toMatchObject({ input: [{ content: '  hi\n' }] })
  })
})

const tooBigCases: Case[] = [
  [
    '/chat messages',
    {
      method: 'POST',
      url: '/chat',
      payload: { messages: Array.from({ length: MAX_MESSAGES + 1 }, () => user('x')) },
    },
    ['body', 'messages'],
  ],
  [
    '/chat message',
    { method: 'POST', url: '/chat', payload: { messages: [user('x'.repeat(MAX_TEXT_CHARACTERS + 1))] } },
    ['body', 'messages', 0, 'content'],
  ],
  [
    '/chat model',
    {
      method: 'POST',
      url: '/chat',
      payload: { messages: [user('hi')], model: 'm'.repeat(MAX_MODEL_CHARACTERS + 1) },
    },
    ['body', 'model'],
  ],
  [
    '/safe body prompt',
    { method: 'POST', url: '/safe', payload: { prompt: 'x'.repeat(MAX_TEXT_CHARACTERS + 1) } },
    ['body', 'prompt'],
  ],
  [
    '/local-stream query prompt',
    { method: 'POST', url: `/local-stream?prompt=${'x'.repeat(MAX_TEXT_CHARACTERS + 1)}` },
    ['query', 'prompt'],
  ],
  [
    '/rag body query',
    { method: 'POST', url: '/rag', payload: { query: 'x'.repeat(MAX_QUESTION_CHARACTERS + 1) } },
    ['body', 'query'],
  ],
]

describe('input over its limit is a 422 too_big naming the field', () => {
  it.each(tooBigCases)('%s', async (_name, request, loc) => {
    const before = context.upstream.received.length
    const response = await context.harness.app.inject(request)
    expect(response.statusCode).toBe(422)
    expect(response.json().detail).toEqual([{ loc, msg: expect.any(String), type: 'too_big' }])
    expect(context.upstream.received.length).toBe(before)
  })

  it('the limits themselves are accepted', async () => {
    const messages = [
      ...Array.from({ length: MAX_MESSAGES - 1 }, () => user('x')),
      user('x'.repeat(MAX_TEXT_CHARACTERS)),
    ]
    const response = await context.harness.app.inject({ method: 'POST', url: '/chat', payload: { messages } })
    expect(response.statusCode).toBe(200)
    expect(context.upstream.received.at(-1)?.json?.input).toHaveLength(MAX_MESSAGES)
  })
})
