import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorReply, longSseReply, sseReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { buildTestApp, listen, type TestApp, testConfig } from '../helpers.js'
import { readSse } from '../sse-client.js'

let upstream: FakeUpstream

beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})

/** An app listening on loopback, pointed at the fake, with these stream settings. */
async function serve(environment: Record<string, string> = {}): Promise<TestApp & { base: string }> {
  const harness = await buildTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, ...environment }))
  return { ...harness, base: await listen(harness.app) }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(10)
  }
}

/** Starts a stream and resolves once its first content frame has arrived, with a way to hang up. */
async function openAndReadFirstFrame(base: string) {
  const controller = new AbortController()
  const response = await fetch(`${base}/stream?prompt=hi`, { signal: controller.signal })
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  let received = ''
  while (!received.includes('data:')) {
    const { value, done } = await reader.read()
    if (done) throw new Error('stream ended before its first frame')
    received += new TextDecoder().decode(value)
  }
  return { hangUp: () => controller.abort(), reader }
}

describe('cancellation', () => {
  it('after 100 clients disconnect mid-stream, the upstream saw every request closed and no stream is left', async () => {
    upstream.reset(longSseReply(2_000, 'word ', { delayMs: 20 }))
    const { app, base } = await serve()
    const abandonedBefore = upstream.abandonedRequests
    const clients = await Promise.all(Array.from({ length: 100 }, () => openAndReadFirstFrame(base)))
    expect(app.streams.size).toBe(100)
    for (const client of clients) client.hangUp()
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 100)
    await waitFor(() => app.streams.size === 0 && upstream.openConnections === 0)
    await app.close()
  })

  it('before the first event: the pending upstream request is closed and not retried', async () => {
    upstream.reset({ kind: 'stall' })
    const { app, base } = await serve({ RETRY_ATTEMPTS: '3' })
    const abandonedBefore = upstream.abandonedRequests
    const controller = new AbortController()
    const request = fetch(`${base}/stream?prompt=hi`, { signal: controller.signal }).catch(() => undefined)
    await waitFor(() => upstream.received.length === 1)
    controller.abort()
    await request
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    await sleep(100)
    expect(upstream.received).toHaveLength(1)
    expect(app.streams.size).toBe(0)
    await app.close()
  })

  it('during a retry wait: no further attempt is made', async () => {
    upstream.reset(errorReply(500))
    const { app, base } = await serve({
      RETRY_ATTEMPTS: '3',
      RETRY_MIN_DELAY_MS: '300',
      RETRY_MAX_DELAY_MS: '300',
    })
    const controller = new AbortController()
    const request = fetch(`${base}/stream?prompt=hi`, { signal: controller.signal }).catch(() => undefined)
    await waitFor(() => upstream.received.length === 1)
    controller.abort()
    await request
    await sleep(500)
    expect(upstream.received).toHaveLength(1)
    expect(app.streams.size).toBe(0)
    await app.close()
  })
})

describe('timeouts', () => {
  it('no first event in time: 504 before any byte of the stream', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { headersDelayMs: 1_000 }))
    const { app, base } = await serve({ RETRY_ATTEMPTS: '1', STREAM_FIRST_EVENT_TIMEOUT_MS: '100' })
    const response = await fetch(`${base}/stream?prompt=hi`)
    expect(response.status).toBe(504)
    expect(await response.json()).toEqual({ detail: 'The AI provider did not answer in time' })
    await app.close()
  })

  it('an idle gap longer than the limit ends the stream with a timeout frame and closes the upstream', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { stallAfter: 7 }))
    const { app, base, logs } = await serve({ STREAM_IDLE_TIMEOUT_MS: '150' })
    const abandonedBefore = upstream.abandonedRequests
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.text).toBe('Hi there!')
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider did not answer in time' })
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    expect(
      logs.some((line) => String(line.detail).includes('no upstream event between events within 150 ms')),
    ).toBe(true)
    await app.close()
  })

  it('a stream longer than the total limit ends with a timeout frame', async () => {
    upstream.reset(longSseReply(200, 'word ', { delayMs: 10 }))
    const { app, base } = await serve({ STREAM_TOTAL_TIMEOUT_MS: '300' })
    const started = performance.now()
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider did not answer in time' })
    expect(stream.text.length).toBeGreaterThan(0)
    expect(performance.now() - started).toBeLessThan(1_500)
    await app.close()
  })

  it('never kills a stream that keeps flowing within its limits, however long it lasts', async () => {
    // 20 gaps of 60 ms: the stream outlives the first-event and idle limits several times over.
    upstream.reset(longSseReply(20, 'word ', { delayMs: 60 }))
    const { app, base } = await serve({ STREAM_FIRST_EVENT_TIMEOUT_MS: '200', STREAM_IDLE_TIMEOUT_MS: '200' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.last).toEqual({ done: true })
    expect(stream.text).toBe('word '.repeat(20))
    await app.close()
  })
})

describe('heartbeats', () => {
  it('sends `: ping` comments while no data flows', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { delayMs: 120 }))
    const { app, base } = await serve({ SSE_HEARTBEAT_MS: '40' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.comments.filter((comment) => comment === 'ping').length).toBeGreaterThanOrEqual(10)
    expect(stream.last).toEqual({ done: true })
    await app.close()
  })

  it('sends none while data flows faster than the interval', async () => {
    upstream.reset(sseReply())
    const { app, base } = await serve({ SSE_HEARTBEAT_MS: '5000' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.comments).toEqual(['stream open'])
    await app.close()
  })
})

describe('backpressure', () => {
  it('stops reading the upstream while the client does not read, and resumes when it does', async () => {
    const deltas = 6_000
    upstream.reset(longSseReply(deltas, 'x'.repeat(10_000)))
    const { app, base } = await serve()
    const writtenBefore = upstream.chunksWritten
    const { port } = new URL(base)
    const socket = connect(Number(port), '127.0.0.1')
    socket.write(`GET /stream?prompt=hi HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`)
    socket.pause()
    // Let every buffer on the way fill, then check that the upstream is held back.
    let written = -1
    while (written !== upstream.chunksWritten - writtenBefore) {
      written = upstream.chunksWritten - writtenBefore
      await sleep(300)
    }
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThan(deltas / 2)
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received = received.slice(-200) + chunk
    })
    socket.resume()
    await new Promise((resolve) => socket.once('end', resolve))
    expect(received).toContain('data: {"done":true}')
    expect(upstream.chunksWritten - writtenBefore).toBeGreaterThan(deltas)
    await app.close()
  }, 60_000)
})

describe('shutdown', () => {
  it('ends open streams with a last frame and closes promptly', async () => {
    upstream.reset(longSseReply(2_000, 'word ', { delayMs: 20 }))
    const { app, base } = await serve()
    const response = await fetch(`${base}/stream?prompt=hi`)
    const reading = readSse(response)
    await waitFor(() => upstream.chunksWritten > 0 && app.streams.size === 1)
    const started = performance.now()
    await app.close()
    expect(performance.now() - started).toBeLessThan(2_000)
    const stream = await reading
    expect(stream.last).toEqual({
      error: 'stream_error',
      detail: 'The server is shutting down; retry the request',
    })
    expect(app.streams.size).toBe(0)
  })
})
