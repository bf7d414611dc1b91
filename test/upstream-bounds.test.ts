import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ndjsonLines } from './fakes/ollama.js'
import { embeddingsReply, okReply, sseEvents } from './fakes/openai.js'
import { FakeUpstream, type UpstreamReply } from './fakes/upstream.js'
import { buildTestApp, listen, type TestApp, testConfig } from './helpers.js'
import { readSse } from './sse-client.js'
import { waitFor } from './wait-for.js'

/*
 * The bounds on what an upstream may send (UPSTREAM_MAX_ANSWER_BYTES, UPSTREAM_MAX_EVENT_BYTES), on every
 * route that reads an upstream: past them the client gets a 502 (or, once a stream began, its error
 * frame), the upstream's connection is closed, nothing is retried (the same request would get the same
 * answer), and nothing the upstream sent (here: our key, over and over) reaches the client or the log.
 * A whole-app property, so it has no mirror in src/: the bounds live in src/providers/upstream-http.ts
 * and the decoders.
 */

/** A key of no recognisable shape: only the configured-secret mask can find it. */
const KEY = 'gw.9c1f2e7b4d8a6053e1b7c9d2f4a8e6b0'
const ANSWER_BYTES = 65_536
const EVENT_BYTES = 16_384
const UNAVAILABLE = 'The AI provider is unavailable'

let openai: FakeUpstream
let ollama: FakeUpstream
let harness: TestApp
let base: string
let directory: string

beforeAll(async () => {
  openai = await FakeUpstream.start({ basePath: '/v1', defaultReply: okReply() })
  ollama = await FakeUpstream.start({ defaultReply: { kind: 'stall' } })
  directory = await mkdtemp(join(tmpdir(), 'bounds-'))
  harness = await buildTestApp(
    testConfig({
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: openai.url,
      OLLAMA_HOST: ollama.url,
      RETRY_ATTEMPTS: '3',
      UPSTREAM_MAX_ANSWER_BYTES: String(ANSWER_BYTES),
      UPSTREAM_MAX_EVENT_BYTES: String(EVENT_BYTES),
      EMBEDDING_PROVIDER: 'openai',
      EMBEDDING_DIMENSIONS: '64',
      RAG_DATA_DIR: directory,
    }),
  )
  base = await listen(harness.app)
})
afterAll(async () => {
  await harness?.app.close()
  await openai?.close()
  await ollama?.close()
  await rm(directory, { recursive: true, force: true })
})
beforeEach(() => {
  openai.reset(okReply())
  ollama.reset({ kind: 'stall' })
})

/** `head`, then the key over and over, never ending (a line end only when `line` says so). */
const endless = (status: number, contentType: string, head: string, line = ''): UpstreamReply => ({
  kind: 'endless',
  status,
  contentType,
  head,
  repeat: `${line}${KEY} ${line ? '\n' : ''}`,
})

/** A valid Responses answer whose text (the key, over and over) is far past the answer bound. */
const hugeAnswer = (): UpstreamReply => {
  const text = `${KEY} `.repeat((16 * ANSWER_BYTES) / KEY.length)
  const output = [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }]
  return { kind: 'json', status: 200, body: JSON.stringify({ model: 'gpt-5', output }) }
}

const [created = '', inProgress = '', ...rest] = sseEvents('openai-responses-stream.sse')
const firstDelta = rest.find((event) => event.startsWith('event: response.output_text.delta')) ?? ''
const sseStart = `${created}${inProgress}${firstDelta}`
const SSE = 'text/event-stream; charset=utf-8'
const NDJSON = 'application/x-ndjson'

async function send(method: string, path: string, body?: object) {
  const init: RequestInit = { method }
  if (body)
    Object.assign(init, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return fetch(`${base}${path}`, init)
}

/** The one upstream request was cut off (its connection closed), not retried, and the log names the bound. */
async function expectAbandoned(
  fake: FakeUpstream,
  bound: 'UPSTREAM_MAX_ANSWER_BYTES' | 'UPSTREAM_MAX_EVENT_BYTES',
) {
  await waitFor(() => fake.received[0]?.connectionClosed === true)
  expect(fake.received).toHaveLength(1)
  await waitFor(() => harness.logText().includes(`over ${bound}`))
}

/** Nothing the upstream sent reached the client or the log. */
function expectNoLeak(response: Response, text: string) {
  expect(text).not.toContain(KEY)
  expect(JSON.stringify([...response.headers])).not.toContain(KEY)
  expect(harness.logText()).not.toContain(KEY)
}

async function expectUnavailable(response: Response) {
  const text = await response.text()
  expect(response.status).toBe(502)
  expect(JSON.parse(text)).toEqual({ detail: UNAVAILABLE })
  expectNoLeak(response, text)
}

const CHAT = { messages: [{ role: 'user', content: 'hi' }] }

describe('a whole answer past UPSTREAM_MAX_ANSWER_BYTES', () => {
  it('/chat: a finite JSON answer past the bound is a 502, the upstream cut off', async () => {
    openai.reset(hugeAnswer())
    await expectUnavailable(await send('POST', '/chat', CHAT))
    await expectAbandoned(openai, 'UPSTREAM_MAX_ANSWER_BYTES')
  })

  it('/chat: a JSON answer that never ends is a 502, the upstream cut off', async () => {
    openai.reset(endless(200, 'application/json', '{"output_text":"'))
    await expectUnavailable(await send('POST', '/chat', CHAT))
    await expectAbandoned(openai, 'UPSTREAM_MAX_ANSWER_BYTES')
  })

  it('/chat: an error body that never ends is a 502, the upstream cut off', async () => {
    openai.reset(endless(400, 'application/json', '{"error":{"message":"'))
    const response = await send('POST', '/chat', CHAT)
    const text = await response.text()
    // A 400's message is shown to the client, but one past the bound is not read at all.
    expect(response.status).toBe(400)
    expect(JSON.parse(text)).toEqual({ detail: 'The AI provider rejected the request' })
    expectNoLeak(response, text)
    await waitFor(() => openai.received[0]?.connectionClosed === true)
  })

  it('/safe: an answer that never ends is a 502 after one attempt, not retried', async () => {
    openai.reset(endless(200, 'application/json', '{"output_text":"'))
    await expectUnavailable(await send('POST', '/safe?prompt=hi'))
    await expectAbandoned(openai, 'UPSTREAM_MAX_ANSWER_BYTES')
  })

  it('/local-chat: an answer that never ends is a 502, the upstream cut off', async () => {
    ollama.reset(endless(200, 'application/json; charset=utf-8', '{"response":"'))
    await expectUnavailable(await send('POST', '/local-chat?prompt=hi'))
    await expectAbandoned(ollama, 'UPSTREAM_MAX_ANSWER_BYTES')
  })

  it('POST /documents: embeddings past the bound are a 502, nothing stored', async () => {
    const huge = hugeAnswer()
    openai.reset({
      kind: 'dynamic',
      respond: (request) => (request.url.endsWith('/embeddings') ? huge : embeddingsReply(request)),
    })
    const response = await send('POST', '/documents', { documents: [{ id: 'rye', text: 'Rye ferments.' }] })
    await expectUnavailable(response)
    await expectAbandoned(openai, 'UPSTREAM_MAX_ANSWER_BYTES')
    expect((await send('GET', '/documents/rye')).status).toBe(404)
  })
})

describe('one event or line past UPSTREAM_MAX_EVENT_BYTES', () => {
  it('/stream: a data line that never ends, before the first event, is a 502, not retried', async () => {
    openai.reset(endless(200, SSE, 'event: response.created\ndata: {"type":"'))
    await expectUnavailable(await send('POST', '/stream', { prompt: 'hi' }))
    await expectAbandoned(openai, 'UPSTREAM_MAX_EVENT_BYTES')
  })

  it('/stream: an event of endless short lines without its blank line is a 502, not retried', async () => {
    openai.reset(endless(200, SSE, '', 'data: '))
    await expectUnavailable(await send('GET', '/stream?prompt=hi'))
    await expectAbandoned(openai, 'UPSTREAM_MAX_EVENT_BYTES')
  })

  it('/stream: an event that never ends, after the first, ends the stream with its error frame', async () => {
    openai.reset(endless(200, SSE, `${sseStart}event: response.output_text.delta\ndata: {"delta":"`))
    const response = await send('POST', '/stream', { prompt: 'hi' })
    expect(response.status).toBe(200)
    const stream = await readSse(response.clone())
    expect(stream.frames.length).toBeGreaterThan(1)
    expect(stream.last).toEqual({ error: 'stream_error', detail: UNAVAILABLE })
    expectNoLeak(response, await response.text())
    await expectAbandoned(openai, 'UPSTREAM_MAX_EVENT_BYTES')
  })

  it('/local-stream: a line without its newline, before the first line, is a 502, not retried', async () => {
    ollama.reset(endless(200, NDJSON, '{"response":"'))
    await expectUnavailable(await send('POST', '/local-stream?prompt=hi'))
    await expectAbandoned(ollama, 'UPSTREAM_MAX_EVENT_BYTES')
  })

  it('/local-stream: a line without its newline, after the first lines, ends with an error line', async () => {
    const head = ndjsonLines('ollama-generate-stream.ndjson').slice(0, 3).join('')
    ollama.reset(endless(200, NDJSON, `${head}{"response":"`))
    const response = await send('POST', '/local-stream?prompt=hi')
    expect(response.status).toBe(200)
    const text = await response.text()
    const lines = text.trimEnd().split('\n')
    expect(lines.slice(0, 3).join('\n')).toBe(head.trimEnd())
    expect(JSON.parse(lines.at(-1) ?? '')).toEqual({ error: UNAVAILABLE })
    expectNoLeak(response, text)
    await expectAbandoned(ollama, 'UPSTREAM_MAX_EVENT_BYTES')
  })
})
