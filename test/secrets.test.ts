import { cp, mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type Failure, keyEchoingFailures } from './fakes/key-echoing-failures.js'
import { embeddingsReply, okReply } from './fakes/openai.js'
import { FakeUpstream } from './fakes/upstream.js'
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
const FAILURES = keyEchoingFailures(KEY)

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
    it.each(FAILURES.openai.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
      storm(route, failure),
    )
  })

  describe.each(OPENAI_STREAM_ROUTES.map((route) => [route.name, route] as const))(
    '%s, after the stream began',
    (_name, route) => {
      it.each(FAILURES.openaiStream.map((failure) => [failure.name, failure] as const))(
        '%s',
        (_failure, failure) => storm(route, failure),
      )
    },
  )

  describe.each(OLLAMA_ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
    it.each(FAILURES.ollama.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
      storm(route, failure),
    )
  })

  describe('POST /local-stream, after the stream began', () => {
    const route = OLLAMA_ROUTES[1] as Route
    it.each(FAILURES.ollamaStream.map((failure) => [failure.name, failure] as const))(
      '%s',
      (_failure, failure) => storm(route, failure),
    )
  })
})
