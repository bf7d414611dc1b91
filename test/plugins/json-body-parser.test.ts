import { describe, expect, it } from 'vitest'
import { useUpstreamAndApp } from '../helpers.js'

const context = useUpstreamAndApp({ BODY_LIMIT_BYTES: '2097152' })

const json = { 'content-type': 'application/json' }
const chatWith = (contentBytes: Buffer) =>
  Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), contentBytes, Buffer.from('"}]}')])
const post = (url: string, payload: Buffer | string) =>
  context.harness.app.inject({ method: 'POST', url, headers: json, payload })

/** Byte sequences that are not UTF-8, each of a kind a decoder would replace with U+FFFD. */
const notUtf8: [string, number[]][] = [
  ['a lone continuation byte', [0x80]],
  ['a byte never used in UTF-8', [0xff]],
  ['Latin-1 é', [0x63, 0x61, 0x66, 0xe9]],
  ['an overlong "/"', [0xc0, 0xaf]],
  ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['a sequence cut short', [0xe2, 0x82]],
]

describe('JSON bodies are parsed from bytes, as UTF-8 only', () => {
  it.each(notUtf8)('%s is a 422 json_invalid, and nothing is called', async (_name, bytes) => {
    const before = context.upstream.received.length
    const response = await post('/chat', chatWith(Buffer.from(bytes)))
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({
      detail: [
        { loc: ['body'], msg: 'JSON decode error: the body is not valid UTF-8', type: 'json_invalid' },
      ],
    })
    expect(context.upstream.received.length).toBe(before)
  })

  it('POST /documents answers a Latin-1 body with the same 422 json_invalid', async () => {
    const body = Buffer.from('{"documents":[{"id":"latin1","text":"Café crème"}]}', 'latin1')
    const response = await post('/documents', body)
    expect(response.statusCode).toBe(422)
    expect(response.json()).toEqual({
      detail: [
        { loc: ['body'], msg: 'JSON decode error: the body is not valid UTF-8', type: 'json_invalid' },
      ],
    })
  })

  it('text outside ASCII reaches the model exactly as sent', async () => {
    const text = 'café 日本語 🥖 \u{10FFFF}'
    const response = await post('/chat', chatWith(Buffer.from(text)))
    expect(response.statusCode).toBe(200)
    expect(context.upstream.received.at(-1)?.json).toMatchObject({ input: [{ content: text }] })
  })

  it('a UTF-8 byte order mark is ignored, as FastAPI (json.loads on bytes) ignores it', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"prompt":"hi"}')])
    const response = await post('/safe', body)
    expect(response.statusCode).toBe(200)
    expect(context.upstream.received.at(-1)?.json).toMatchObject({ input: [{ content: 'hi' }] })
  })

  it('a byte order mark alone is malformed JSON, not an empty body', async () => {
    const response = await post('/safe?prompt=hi', Buffer.from([0xef, 0xbb, 0xbf]))
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['body'], type: 'json_invalid' })
  })

  it('an empty body with a JSON content type counts as no body', async () => {
    const response = await post('/safe?prompt=hi', '')
    expect(response.statusCode).toBe(200)
  })

  it('a body over the limit is still a 413', async () => {
    const response = await post('/safe', Buffer.alloc(2097153, 0x20))
    expect(response.statusCode).toBe(413)
    expect(response.json()).toEqual({ detail: 'Request body is larger than the limit of 2097152 bytes' })
  })
})

describe('JSON nested 100,000 deep is a 422, and the app keeps answering', () => {
  const depth = 100_000
  const cases: [string, string, string, (string | number)[]][] = [
    ['a body of arrays', '/chat', `${'['.repeat(depth)}${']'.repeat(depth)}`, ['body']],
    [
      'a field of arrays',
      '/chat',
      `{"messages":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      ['body', 'messages', 0],
    ],
    [
      'metadata of objects',
      '/documents',
      `{"documents":[{"text":"x","metadata":{"k":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}]}`,
      ['body', 'documents', 0, 'metadata', 'k'],
    ],
  ]

  it.each(cases)('%s', async (_name, url, body, loc) => {
    const response = await post(url, body)
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0].loc).toEqual(loc)
    const health = await context.harness.app.inject({ method: 'GET', url: '/health' })
    expect(health.statusCode).toBe(200)
  })

  it('unbalanced nesting is a 422 json_invalid', async () => {
    const response = await post('/chat', '['.repeat(depth))
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0]).toMatchObject({ loc: ['body'], type: 'json_invalid' })
  })
})
