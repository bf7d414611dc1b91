import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Failure } from './fakes/failure-replies.js'
import { keyEchoingFailures } from './fakes/key-echoing-failures.js'
import { embeddingsReply, okReply } from './fakes/openai.js'
import { FakeUpstream } from './fakes/upstream.js'
import { buildTestApp, listen, TEST_API_KEY, type TestApp, testConfig } from './helpers.js'
import { exchange, statusOf } from './raw-http.js'
import { OLLAMA_ROUTES, OPENAI_ROUTES, OPENAI_STREAM_ROUTES, type Route } from './upstream-routes.js'
import { waitFor } from './wait-for.js'

/*
 * An error storm with a known key, once for a key of OpenAI's `sk-` shape and once for a key of another
 * shape (an Azure key: 32 hex digits, which no pattern can tell from other text): every route, against
 * fake upstreams that echo the key back in every form an upstream might (plain, `Bearer <key>`,
 * `token_<key>`, inside JSON, as the error code, type and param, in a response header, in answers,
 * events and lines past the app's bounds), fail slowly, reset, or fail in the middle of a stream. Every
 * byte a client receives (status line, headers, body) and every line the app logs must be free of the
 * key. A whole-app property, so it has no mirror in src/: the redaction it relies on is src/redaction.ts.
 */

interface StormKey {
  name: string
  key: string
  /** The part of the key that no mask or redaction may leave behind. */
  fragment: string
}

const AZURE_KEY = '8f14e45fceea167a5a36dedd4bea2543'
const KEYS: StormKey[] = [
  { name: "an sk- key, OpenAI's shape", key: TEST_API_KEY, fragment: TEST_API_KEY.slice('sk-test-'.length) },
  { name: "a key of another shape (Azure's 32 hex digits)", key: AZURE_KEY, fragment: AZURE_KEY.slice(8) },
]

interface ServedApp extends TestApp {
  base: string
}

/** The apps of one key's storm. */
interface Storm extends StormKey {
  /** Upstream timeouts far beyond any test: no failure here comes from a timer. */
  patient: ServedApp
  /** Short timeouts, for the stalling upstreams only. */
  impatient: ServedApp
}

/** OpenAI embeddings for /documents and /rag. */
const RAG_ENVIRONMENT = { EMBEDDING_PROVIDER: 'openai', EMBEDDING_DIMENSIONS: '64' }

let openai: FakeUpstream
let ollama: FakeUpstream
/** A store holding one document, copied to each app. */
let seeded: string
const directories: string[] = []

/** An app with `key`, pointed at both fakes, logging everything, storing documents in a copy of `seeded`. */
async function serveApp(key: string, environment: Record<string, string>): Promise<ServedApp> {
  const directory = await mkdtemp(join(tmpdir(), 'secrets-'))
  directories.push(directory)
  await cp(seeded, directory, { recursive: true })
  const harness = await buildTestApp(
    testConfig({
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: openai.url,
      OLLAMA_HOST: ollama.url,
      LOG_LEVEL: 'trace',
      RETRY_ATTEMPTS: '2',
      RAG_DATA_DIR: directory,
      // Small bounds, so the answers that never end are cut after a few writes.
      UPSTREAM_MAX_ANSWER_BYTES: '262144',
      UPSTREAM_MAX_EVENT_BYTES: '65536',
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
  seeded = await mkdtemp(join(tmpdir(), 'secrets-seed-'))
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
})

afterAll(async () => {
  await openai?.close()
  await ollama?.close()
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })))
})

let sequence = 0

/** Drives one failing request and checks the wire and the log for the key. */
async function storm(context: Storm, route: Route, failure: Failure) {
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
  const harness = failure.stalls ? context.impatient : context.patient
  const linesBefore = harness.logs.length
  const body = route.body?.(requestId)
  const wire = await exchange(harness.base, { method: route.method, path: route.path, body, requestId })
  // The access log line is the request's last: after it, everything the request logs is in.
  await waitFor(() =>
    harness.logs.some((line) => line.reqId === requestId && line.msg === 'request completed'),
  )
  const logged = harness.logText().split('\n').slice(linesBefore).join('\n')

  // The storm reached the upstream with the key, and the failure reached the client.
  const fake = route.upstream === 'ollama' ? ollama : openai
  expect(fake.received.length).toBeGreaterThan(0)
  if (route.upstream === 'openai') {
    const authorization = `Bearer ${context.key}`
    expect(fake.received.every((request) => request.headers.authorization === authorization)).toBe(true)
  }
  expect(statusOf(wire) >= 400 || /"error"/.test(wire), wire.split('\r\n')[0]).toBe(true)
  if (failure.shown) expect(wire).toContain('[redacted]')

  for (const secret of [context.key, context.fragment]) {
    expect(wire).not.toContain(secret)
    expect(logged).not.toContain(secret)
  }
}

describe.each(KEYS.map((key) => [key.name, key] as const))(
  'no response byte or log line carries %s',
  (_name, key) => {
    const context = { ...key } as Storm
    const failures = keyEchoingFailures(key.key)

    beforeAll(async () => {
      context.patient = await serveApp(key.key, {})
      context.impatient = await serveApp(key.key, {
        UPSTREAM_TIMEOUT_MS: '200',
        STREAM_FIRST_EVENT_TIMEOUT_MS: '200',
        STREAM_IDLE_TIMEOUT_MS: '200',
      })
    })

    afterAll(async () => {
      await context.patient?.app.close()
      await context.impatient?.app.close()
      // Everything the apps ever logged, from start to close, not only the lines of each request.
      for (const app of [context.patient, context.impatient]) {
        expect(app.logText()).not.toContain(key.key)
        expect(app.logText()).not.toContain(key.fragment)
      }
    })

    describe.each(OPENAI_ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
      it.each(failures.openai.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
        storm(context, route, failure),
      )
    })

    describe.each(OPENAI_STREAM_ROUTES.map((route) => [route.name, route] as const))(
      '%s, after the stream began',
      (_name, route) => {
        it.each(failures.openaiStream.map((failure) => [failure.name, failure] as const))(
          '%s',
          (_failure, failure) => storm(context, route, failure),
        )
      },
    )

    describe.each(OLLAMA_ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
      it.each(failures.ollama.map((failure) => [failure.name, failure] as const))('%s', (_failure, failure) =>
        storm(context, route, failure),
      )
    })

    describe('POST /local-stream, after the stream began', () => {
      const route = OLLAMA_ROUTES[1] as Route
      it.each(failures.ollamaStream.map((failure) => [failure.name, failure] as const))(
        '%s',
        (_failure, failure) => storm(context, route, failure),
      )
    })
  },
)
