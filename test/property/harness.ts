import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, expect } from 'vitest'
import { ndjsonReply, ollamaJsonReply, startFakeOllama } from '../fakes/ollama.js'
import { okReply, openAIWithEmbeddings, sseReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream, ReceivedRequest, UpstreamReply } from '../fakes/upstream.js'
import { buildTestApp, type TestApp, testConfig } from '../helpers.js'

/** Runs per operation and property: 40 keep the property suite near 25 s on two cores. */
export const RUNS = Number(process.env.PROPERTY_RUNS ?? 40)
/** For one operation's runs, well above what they take, so a hang fails rather than a slow machine. */
export const TIMEOUT_MS = 60_000

/** Answers as the vendor would to what was asked: a stream when one was asked for, else the whole answer. */
const streamedOr = (
  isStream: (request: ReceivedRequest) => boolean,
  streamed: () => UpstreamReply,
  whole: () => UpstreamReply,
): UpstreamReply => ({
  kind: 'dynamic',
  respond: (request: ReceivedRequest) => (isStream(request) ? streamed() : whole()),
})

/**
 * The whole app against fake upstreams that answer normally (OpenAI with embeddings, Ollama), with a
 * document store of its own: any 5xx is then the app's own. Shared by a suite; closed after it.
 */
export function useFuzzedApp(environment: Record<string, string> = {}): { harness: TestApp } {
  const context = {} as { harness: TestApp; openai: FakeUpstream; ollama: FakeUpstream; directory: string }
  beforeAll(async () => {
    context.openai = await startFakeOpenAI()
    const answer = streamedOr((request) => request.json?.stream === true, sseReply, okReply)
    context.openai.reset(openAIWithEmbeddings(() => answer))
    context.ollama = await startFakeOllama()
    // Ollama streams unless told `"stream": false`.
    const local = streamedOr(
      (request) => request.json?.stream !== false,
      ndjsonReply,
      () => ollamaJsonReply('ollama-generate.json'),
    )
    context.ollama.reset(local)
    context.directory = await mkdtemp(join(tmpdir(), 'property-'))
    context.harness = await buildTestApp(
      testConfig({
        OPENAI_BASE_URL: context.openai.url,
        OLLAMA_HOST: context.ollama.url,
        RAG_DATA_DIR: context.directory,
        EMBEDDING_PROVIDER: 'openai',
        EMBEDDING_DIMENSIONS: '64',
        // Every fuzzed request passes the request rate limit's hook, but none is refused: a suite sends
        // more than RATE_LIMIT_MAX's 600 a minute, and 429s would stand in for the routes being fuzzed.
        RATE_LIMIT_MAX: '1000000000',
        ...environment,
      }),
    )
  })
  afterAll(async () => {
    await context.harness?.app.close()
    await context.openai?.close()
    await context.ollama?.close()
    await rm(context.directory, { recursive: true, force: true })
  })
  return context
}

/**
 * The invariants every answer keeps, whatever was sent: no 5xx (the upstreams are healthy), and an
 * error is JSON in FastAPI's envelope, `{"detail": "..."}` or `{"detail": [{type, loc, msg}]}`.
 */
export function expectWellFormed(response: LightMyRequestResponse, sent: string): void {
  const context = `${response.statusCode} ${response.body.slice(0, 300)} for ${sent.slice(0, 300)}`
  expect(response.statusCode, context).toBeGreaterThanOrEqual(200)
  expect(response.statusCode, context).toBeLessThan(500)
  if (response.statusCode < 400) return
  expect(response.headers['content-type'], context).toMatch(/^application\/json\b/)
  const body = response.json()
  expect(Object.keys(body), context).toEqual(['detail'])
  if (typeof body.detail === 'string') return
  expect(Array.isArray(body.detail) && body.detail.length > 0, context).toBe(true)
  for (const issue of body.detail) {
    expect(issue, context).toMatchObject({ type: expect.any(String), msg: expect.any(String) })
    expect(Array.isArray(issue.loc), context).toBe(true)
  }
}

/** The app still answers its liveness probe. */
export async function expectAlive(harness: TestApp): Promise<void> {
  const response = await harness.app.inject({ method: 'GET', url: '/health' })
  expect(response.statusCode).toBe(200)
}
