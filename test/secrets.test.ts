import { cp, mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { ndjsonLines } from './fakes/ollama.js'
import { embeddingsReply, okReply, sseEvents } from './fakes/openai.js'
import { FakeUpstream, type UpstreamReply } from './fakes/upstream.js'
import { readFixture, readHead } from './fixtures.js'
import { buildTestApp, listen, TEST_API_KEY, type TestApp, testConfig } from './helpers.js'
import { waitFor } from './wait-for.js'

/*
 * An error storm with a known key: every route, against fake upstreams that echo the key back in every
 * form an upstream might (plain, `Bearer <key>`, `token_<key>`, inside JSON, as the error code), fail
 * slowly, reset, or fail in the middle of a stream. Every byte a client receives (status line, headers,
 * body) and every line the app logs must be free of the key. A whole-app property, so it has no mirror
 * in src/: the redaction it relies on is `redactSecrets` in src/errors.ts.
 */

const KEY = TEST_API_KEY
/** The part of the key that no mask or redaction may leave behind. */
const SUFFIX = KEY.slice('sk-test-'.length)
const FORMS = [KEY, `Bearer ${KEY}`, `token_${KEY}`, `{"api_key":"${KEY}"}`, `key=${KEY}&retry=1`]
/** An upstream error message quoting the key in every form at once. */
const ECHO = `Incorrect API key provided: ${FORMS.join(' | ')}.`

const json = (status: number, body: unknown, contentType = 'application/json'): UpstreamReply => ({
  kind: 'json',
  status,
  headers: { 'content-type': contentType },
  body: typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`,
})
const openAIError = (status: number, message: string, code: string | null, param: string | null = null) =>
  json(status, { error: { message, type: 'invalid_request_error', param, code } })

/** A recorded fixture with the masked key in it replaced by the real one, as a careless upstream would. */
function withKey(fixture: string): string {
  return readFixture(fixture).replace(/sk-proj-\*+Ab1Z/, KEY)
}

interface Failure {
  name: string
  reply: () => UpstreamReply
  /** The upstream's message reaches the client (a 4xx the caller can act on): it must arrive redacted. */
  shown?: boolean
  /** The upstream stalls: sent to the app with short timeouts, so that only stalls wait for a timer. */
  stalls?: boolean
}

/** Failures of an OpenAI call before any byte of its answer: /responses (JSON or stream) and /embeddings. */
const OPENAI_FAILURES: Failure[] = [
  {
    name: 'the recorded 401, quoting the whole key in its body and a header',
    reply: () => {
      const head = readHead('openai-error-401.headers.txt')
      return {
        kind: 'json',
        status: head.status,
        // An upstream header quoting the key must not be passed on either.
        headers: { ...head.headers, 'www-authenticate': `Bearer realm="api", token="${KEY}"` },
        body: withKey('openai-error-401.json'),
      }
    },
  },
  { name: '400 echoing the key in every form', reply: () => openAIError(400, ECHO, null, KEY), shown: true },
  { name: '400 whose code is token_<key>', reply: () => openAIError(400, 'Invalid input', `token_${KEY}`) },
  { name: '422 as plain text echoing the key', reply: () => json(422, ECHO, 'text/plain'), shown: true },
  { name: '403 as HTML echoing the key', reply: () => json(403, `<p>${ECHO}</p>`, 'text/html') },
  {
    name: '404 about the model, naming the key',
    reply: () => openAIError(404, `The model does not exist for ${ECHO}`, 'model_not_found'),
  },
  {
    name: '429 whose code is the key',
    reply: () => ({
      ...openAIError(429, ECHO, KEY),
      headers: { 'content-type': 'application/json', 'retry-after': '0' },
    }),
  },
  { name: '500 echoing the key, with the key as its code', reply: () => openAIError(500, ECHO, KEY) },
  { name: 'no answer within UPSTREAM_TIMEOUT_MS', reply: () => ({ kind: 'stall' }), stalls: true },
  { name: 'connection reset', reply: () => ({ kind: 'reset' }) },
]

const sse = (chunks: string[], options: { dropAfter?: number; stallAfter?: number } = {}): UpstreamReply => ({
  kind: 'stream',
  contentType: 'text/event-stream; charset=utf-8',
  chunks,
  ...options,
})

/** The parts of an event's JSON the storm rewrites. */
interface EventData {
  error: Record<string, unknown>
  response: Record<string, unknown>
}

/** The events of a recorded stream with one event's JSON rewritten. */
function rewritten(fixture: string, type: string, rewrite: (event: EventData) => void): string[] {
  return sseEvents(fixture).map((block) => {
    if (!block.startsWith(`event: ${type}\n`)) return block
    const data = JSON.parse(block.slice(block.indexOf('data: ') + 'data: '.length))
    rewrite(data)
    return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`
  })
}

/** Failures of an OpenAI stream after it began (in band, with status 200). */
const OPENAI_STREAM_FAILURES: Failure[] = [
  {
    name: 'an error event (observed nested shape) echoing the key',
    reply: () =>
      sse(
        rewritten('openai-responses-stream-error.sse', 'error', (event) => {
          event.error.message = ECHO
          event.error.param = KEY
        }),
      ),
  },
  {
    name: 'an error event (flat spec shape) whose code is the key',
    reply: () => {
      const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
      const flat = { type: 'error', code: `token_${KEY}`, message: ECHO, param: KEY, sequence_number: 2 }
      return sse([created, inProgress, `event: error\ndata: ${JSON.stringify(flat)}\n\n`])
    },
  },
  {
    name: 'an invalid_prompt error event echoing the key, shown to the client',
    reply: () => {
      const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
      const flat = { type: 'error', code: 'invalid_prompt', message: ECHO, param: null, sequence_number: 2 }
      return sse([created, inProgress, `event: error\ndata: ${JSON.stringify(flat)}\n\n`])
    },
    shown: true,
  },
  {
    name: 'response.failed echoing the key, with the key as its code',
    reply: () =>
      sse(
        rewritten('openai-responses-stream-failed.sse', 'response.failed', (event) => {
          event.response.error = { code: KEY, message: ECHO }
        }),
      ),
  },
  {
    name: 'the connection dropped mid-stream',
    reply: () => sse(sseEvents('openai-responses-stream.sse'), { dropAfter: 6 }),
  },
  {
    name: 'a stall mid-stream',
    reply: () => sse(sseEvents('openai-responses-stream.sse'), { stallAfter: 6 }),
    stalls: true,
  },
]

const ollamaError = (status: number, message: string): UpstreamReply =>
  json(status, JSON.stringify({ error: message }), 'application/json; charset=utf-8')

/** Ollama's failures before the first line. */
const OLLAMA_FAILURES: Failure[] = [
  { name: '400 echoing the key in every form', reply: () => ollamaError(400, ECHO), shown: true },
  { name: '404 naming the key as the model', reply: () => ollamaError(404, `model '${KEY}' not found`) },
  { name: '500 echoing the key', reply: () => ollamaError(500, ECHO) },
  { name: 'no answer within UPSTREAM_TIMEOUT_MS', reply: () => ({ kind: 'stall' }), stalls: true },
  { name: 'connection reset', reply: () => ({ kind: 'reset' }) },
]

/** Ollama's failures after the first line. */
const OLLAMA_STREAM_FAILURES: Failure[] = [
  {
    name: 'an error line echoing the key (status 200)',
    reply: () => {
      const lines = ndjsonLines('ollama-generate-stream-error.ndjson')
      lines[lines.length - 1] = `${JSON.stringify({ error: ECHO })}\n`
      return { kind: 'stream', contentType: 'application/x-ndjson', chunks: lines }
    },
  },
  {
    name: 'the connection dropped mid-stream',
    reply: () => ({
      kind: 'stream',
      contentType: 'application/x-ndjson',
      chunks: ndjsonLines('ollama-generate-stream.ndjson'),
      dropAfter: 4,
    }),
  },
]

interface Route {
  name: string
  method: 'GET' | 'POST'
  path: string
  /** The JSON body; `tag` makes texts unique, so no cache answers in place of the upstream. */
  body?: (tag: string) => object
  upstream: 'openai' | 'ollama'
  /** Which OpenAI call the failure is scripted on (the other one succeeds). */
  failing?: 'responses' | 'embeddings'
}

const question = (tag: string) => `How does sourdough bread rise? ${tag}`

const OPENAI_ROUTES: Route[] = [
  {
    name: 'POST /chat',
    method: 'POST',
    path: '/chat',
    body: () => ({ messages: [{ role: 'user', content: 'hi' }] }),
    upstream: 'openai',
  },
  { name: 'POST /safe', method: 'POST', path: '/safe?prompt=hi', upstream: 'openai' },
  { name: 'GET /stream', method: 'GET', path: '/stream?prompt=hi', upstream: 'openai' },
  {
    name: 'POST /stream',
    method: 'POST',
    path: '/stream',
    body: () => ({ prompt: 'hi' }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag (the answer)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag) }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag stream (the answer)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag), stream: true }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag (the question’s embedding)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag) }),
    upstream: 'openai',
    failing: 'embeddings',
  },
  {
    name: 'POST /rag stream (the question’s embedding)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag), stream: true }),
    upstream: 'openai',
    failing: 'embeddings',
  },
  {
    name: 'POST /documents (OpenAI embeddings)',
    method: 'POST',
    path: '/documents',
    body: (tag) => ({ documents: [{ text: `Rye bread ferments slowly in a cold kitchen. ${tag}` }] }),
    upstream: 'openai',
    failing: 'embeddings',
  },
]
const OPENAI_STREAM_ROUTES = OPENAI_ROUTES.filter(
  (route) =>
    route.path.startsWith('/stream') || (route.name.startsWith('POST /rag stream') && !route.failing),
)
const OLLAMA_ROUTES: Route[] = [
  { name: 'POST /local-chat', method: 'POST', path: '/local-chat?prompt=hi', upstream: 'ollama' },
  { name: 'POST /local-stream', method: 'POST', path: '/local-stream?prompt=hi', upstream: 'ollama' },
]

interface ServedApp extends TestApp {
  base: string
}

/** OpenAI embeddings for /documents and /rag. */
const RAG_ENVIRONMENT = { EMBEDDING_PROVIDER: 'openai', EMBEDDING_DIMENSIONS: '64' }

let openai: FakeUpstream
let ollama: FakeUpstream
/** Upstream timeouts far beyond any test: no failure here comes from a timer. */
let patient: ServedApp
/** Short timeouts, for the stalling upstreams only. */
let impatient: ServedApp
const directories: string[] = []

/** An app pointed at both fakes, logging everything, storing documents in a copy of `seeded`. */
async function serveApp(seeded: string, environment: Record<string, string>): Promise<ServedApp> {
  const directory = await mkdtemp(join(tmpdir(), 'secrets-'))
  directories.push(directory)
  await cp(seeded, directory, { recursive: true })
  const harness = await buildTestApp(
    testConfig({
      OPENAI_BASE_URL: openai.url,
      OLLAMA_HOST: ollama.url,
      LOG_LEVEL: 'trace',
      RETRY_ATTEMPTS: '2',
      RAG_DATA_DIR: directory,
      ...RAG_ENVIRONMENT,
      ...environment,
    }),
  )
  return { ...harness, base: await listen(harness.app) }
}

beforeAll(async () => {
  openai = await FakeUpstream.start({ basePath: '/v1', defaultReply: okReply() })
  ollama = await FakeUpstream.start({ defaultReply: { kind: 'stall' } })
  // One stored document, so /rag finds passages and calls the model: stored once, copied to each app.
  const seeded = await mkdtemp(join(tmpdir(), 'secrets-seed-'))
  directories.push(seeded)
  const seeder = await buildTestApp(
    testConfig({ OPENAI_BASE_URL: openai.url, RAG_DATA_DIR: seeded, ...RAG_ENVIRONMENT }),
  )
  openai.reset({ kind: 'dynamic', respond: (request) => embeddingsReply(request) })
  const document = { id: 'bread', text: 'Sourdough bread rises with wild yeast living in a starter.' }
  const ingested = await seeder.app.inject({
    method: 'POST',
    url: '/documents',
    payload: { documents: [document] },
  })
  await seeder.app.close()
  expect(ingested.statusCode).toBe(200)
  patient = await serveApp(seeded, {})
  impatient = await serveApp(seeded, {
    UPSTREAM_TIMEOUT_MS: '200',
    STREAM_FIRST_EVENT_TIMEOUT_MS: '200',
    STREAM_IDLE_TIMEOUT_MS: '200',
  })
})

afterAll(async () => {
  await patient?.app.close()
  await impatient?.app.close()
  await openai?.close()
  await ollama?.close()
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })))
  // Everything the apps ever logged, from start to close, not only the lines of each request.
  for (const app of [patient, impatient]) {
    expect(app.logText()).not.toContain(KEY)
    expect(app.logText()).not.toContain(SUFFIX)
  }
})

let sequence = 0

/**
 * Sends one request over a raw socket and returns every byte of the answer: status line, headers and
 * body as they crossed the wire, chunk framing included.
 */
async function exchange(base: string, route: Route, requestId: string): Promise<string> {
  const payload = route.body ? JSON.stringify(route.body(requestId)) : undefined
  const head = [
    `${route.method} ${route.path} HTTP/1.1`,
    'host: 127.0.0.1',
    'connection: close',
    `x-request-id: ${requestId}`,
    ...(payload === undefined
      ? []
      : ['content-type: application/json', `content-length: ${Buffer.byteLength(payload)}`]),
  ]
  const socket = connect(Number(new URL(base).port), '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(`${head.join('\r\n')}\r\n\r\n${payload ?? ''}`)
  await closed
  return Buffer.concat(chunks).toString('utf8')
}

/** Drives one failing request and checks the wire and the log for the key. */
async function storm(route: Route, failure: Failure) {
  const requestId = `storm-${++sequence}`
  const reply = failure.reply()
  if (route.upstream === 'ollama') ollama.reset(reply)
  else {
    const failing = route.failing ?? 'responses'
    openai.reset({
      kind: 'dynamic',
      respond: (request) => {
        const call = request.url.endsWith('/embeddings') ? 'embeddings' : 'responses'
        if (call === failing) return reply
        return call === 'embeddings' ? embeddingsReply(request) : okReply()
      },
    })
  }
  const harness = failure.stalls ? impatient : patient
  const linesBefore = harness.logs.length
  const wire = await exchange(harness.base, route, requestId)
  // The access log line is the request's last: after it, everything the request logs is in.
  await waitFor(() =>
    harness.logs.some((line) => line.reqId === requestId && line.msg === 'request completed'),
  )
  const logged = harness.logText().split('\n').slice(linesBefore).join('\n')

  // The storm reached the upstream with the key, and the failure reached the client.
  const fake = route.upstream === 'ollama' ? ollama : openai
  expect(fake.received.length).toBeGreaterThan(0)
  if (route.upstream === 'openai') {
    expect(fake.received.every((request) => request.headers.authorization === `Bearer ${KEY}`)).toBe(true)
  }
  const status = Number(wire.slice('HTTP/1.1 '.length, 'HTTP/1.1 '.length + 3))
  expect(status >= 400 || /"error"/.test(wire), wire.split('\r\n')[0]).toBe(true)
  if (failure.shown) expect(wire).toContain('[redacted]')

  for (const secret of [KEY, SUFFIX]) {
    expect(wire).not.toContain(secret)
    expect(logged).not.toContain(secret)
  }
}

describe('no response byte or log line carries the OpenAI key', () => {
  describe.each(OPENAI_ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
    it.each(OPENAI_FAILURES.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
      storm(route, failure),
    )
  })

  describe.each(OPENAI_STREAM_ROUTES.map((route) => [route.name, route] as const))(
    '%s, after the stream began',
    (_name, route) => {
      it.each(OPENAI_STREAM_FAILURES.map((failure) => [failure.name, failure] as const))(
        '%s',
        (_failure, failure) => storm(route, failure),
      )
    },
  )

  describe.each(OLLAMA_ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
    it.each(OLLAMA_FAILURES.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
      storm(route, failure),
    )
  })

  describe('POST /local-stream, after the stream began', () => {
    const route = OLLAMA_ROUTES[1] as Route
    it.each(OLLAMA_STREAM_FAILURES.map((failure) => [failure.name, failure] as const))(
      '%s',
      (_failure, failure) => storm(route, failure),
    )
  })
})
