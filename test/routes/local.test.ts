import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ndjsonLines, ndjsonReply, ollamaJsonReply, startFakeOllama } from '../fakes/ollama.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { readFixture } from '../fixtures.js'
import { buildTestApp, listen, openTestApp, type TestApp, testConfig } from '../helpers.js'

let ollama: FakeUpstream
let harness: TestApp
let base: string

beforeAll(async () => {
  ollama = await startFakeOllama()
  harness = await buildTestApp(testConfig({ OLLAMA_HOST: ollama.url, RETRY_ATTEMPTS: '2' }))
  base = await listen(harness.app)
})
afterAll(async () => {
  await harness.app.close()
  await ollama.close()
})
beforeEach(() => {
  ollama.reset(ndjsonReply())
})

const notFound = () => ({ ...ollamaJsonReply('ollama-error-404.json', 404) })

describe('POST /local-chat', () => {
  it("answers {response} for the chapter's query parameters, asking /api/generate without streaming", async () => {
    ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
    const response = await fetch(`${base}/local-chat?model=llama3.2&prompt=Why%20is%20the%20sky%20blue%3F`, {
      method: 'POST',
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ response: 'The sky is blue because of Rayleigh scattering.' })
    expect(ollama.received[0]?.url).toBe('/api/generate')
    expect(ollama.received[0]?.json).toEqual({
      model: 'llama3.2',
      prompt: 'Why is the sky blue?',
      stream: false,
    })
  })

  it('accepts a JSON body, and defaults the model to OLLAMA_DEFAULT_MODEL', async () => {
    ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
    const response = await fetch(`${base}/local-chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
    })
    expect(response.status).toBe(200)
    expect(ollama.received[0]?.json).toMatchObject({ model: 'llama3.2', prompt: 'hi' })
  })

  it("an unknown model is a 404 naming it, from Ollama's exact 404", async () => {
    ollama.enqueue(notFound())
    const response = await fetch(`${base}/local-chat?model=llama9&prompt=hi`, { method: 'POST' })
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ detail: "model 'llama9' not found" })
  })

  it('an Ollama 500 is a generic 502', async () => {
    ollama.enqueue({
      kind: 'json',
      status: 500,
      body: '{"error":"llama runner process has terminated: signal: killed"}',
    })
    const response = await fetch(`${base}/local-chat?prompt=hi`, { method: 'POST' })
    expect(response.status).toBe(502)
    expect(await response.json()).toEqual({ detail: 'The AI provider is unavailable' })
  })

  it('Ollama not running is a 502', async () => {
    const { app } = await openTestApp(testConfig({ OLLAMA_HOST: 'http://127.0.0.1:9' }))
    const response = await app.inject({ method: 'POST', url: '/local-chat?prompt=hi' })
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider is unavailable' })
  })

  it('a missing prompt is a 422', async () => {
    const response = await fetch(`${base}/local-chat?model=llama3.2`, { method: 'POST' })
    expect(response.status).toBe(422)
    expect(ollama.received).toHaveLength(0)
  })

  it('reuses one keep-alive connection to Ollama', async () => {
    const before = ollama.connectionsAccepted
    for (let index = 0; index < 5; index++) {
      ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
      await (await fetch(`${base}/local-chat?prompt=hi`, { method: 'POST' })).text()
    }
    expect(ollama.connectionsAccepted - before).toBeLessThanOrEqual(1)
  })
})

describe('POST /local-stream', () => {
  it("relays Ollama's NDJSON lines exactly, each ending in a newline", async () => {
    const response = await fetch(
      `${base}/local-stream?model=llama3.2&prompt=Why%20is%20the%20sky%20blue%3F`,
      {
        method: 'POST',
      },
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson')
    expect(await response.text()).toBe(readFixture('ollama-generate-stream.ndjson'))
    expect(ollama.received[0]?.json).toEqual({
      model: 'llama3.2',
      prompt: 'Why is the sky blue?',
      stream: true,
    })
  })

  it('splits lines correctly however the upstream chunks them', async () => {
    const body = readFixture('ollama-generate-stream.ndjson')
    // Cut in awkward places: mid-line, mid-escape, several lines per chunk.
    const chunks = [body.slice(0, 7), body.slice(7, 150), body.slice(150, 151), body.slice(151)]
    ollama.enqueue({ kind: 'stream', contentType: 'application/x-ndjson', chunks, delayMs: 5 })
    const response = await fetch(`${base}/local-stream?prompt=hi`, { method: 'POST' })
    expect(await response.text()).toBe(body)
  })

  it('ends with a safe {"error"} line when Ollama reports an error mid-stream with status 200', async () => {
    ollama.enqueue(ndjsonReply('ollama-generate-stream-error.ndjson'))
    const response = await fetch(`${base}/local-stream?prompt=hi`, { method: 'POST' })
    expect(response.status).toBe(200)
    const lines = (await response.text()).split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.slice(0, 3)).toEqual(
      ndjsonLines('ollama-generate-stream-error.ndjson')
        .slice(0, 3)
        .map((line) => line.trim()),
    )
    expect(JSON.parse(lines[3] ?? '')).toEqual({ error: 'The AI provider is unavailable' })
    expect(harness.logText()).toContain('unexpected EOF')
  })

  it('ends with an error line when Ollama drops the connection mid-stream', async () => {
    ollama.enqueue(ndjsonReply('ollama-generate-stream.ndjson', { dropAfter: 4, delayMs: 5 }))
    const lines = (await (await fetch(`${base}/local-stream?prompt=hi`, { method: 'POST' })).text())
      .trim()
      .split('\n')
    expect(JSON.parse(lines.at(-1) ?? '')).toEqual({ error: 'The AI provider is unavailable' })
  })

  it('an unknown model is a real 404 before any line', async () => {
    ollama.enqueue(notFound())
    const response = await fetch(`${base}/local-stream?model=llama9&prompt=hi`, { method: 'POST' })
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ detail: "model 'llama9' not found" })
  })

  it('Ollama busy on every attempt is a 503 before any line', async () => {
    ollama.defaultReply = {
      kind: 'json',
      status: 503,
      body: '{"error":"server busy, please try again.  maximum pending requests exceeded"}',
    }
    const response = await fetch(`${base}/local-stream?prompt=hi`, { method: 'POST' })
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ detail: 'AI service unavailable' })
    expect(ollama.received).toHaveLength(2)
  })

  it('leaves no stream behind', async () => {
    await (await fetch(`${base}/local-stream?prompt=hi`, { method: 'POST' })).text()
    expect(harness.app.streams.size).toBe(0)
  })
})
