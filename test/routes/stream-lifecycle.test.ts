import type { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { errorReply, longSseReply, sseReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream, UpstreamReply } from '../fakes/upstream.js'
import { serveTestApp, type TestApp, testConfig } from '../helpers.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

let upstream: FakeUpstream

beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})

/** An app listening on loopback, pointed at the fake, with these stream settings; closed after the test. */
function serve(environment: Record<string, string> = {}): Promise<TestApp & { base: string }> {
  return serveTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, ...environment }))
}

/** How many chunks a scripted stream reply has in all. */
function chunkCount(reply: UpstreamReply): number {
  if (reply.kind !== 'stream') throw new Error(`not a stream reply: ${reply.kind}`)
  return reply.chunks.length
}

/** The handler of this request has finished: it ended with the client's departure. */
const clientGoneLogged = (logs: TestApp['logs'], requestId: string) => () =>
  logs.some((line) => line.reqId === requestId && line.code === 'client_closed_request')

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
  it('after 100 clients disconnect mid-stream and the grace passes, the upstream saw every request closed and no stream is left', async () => {
    upstream.reset(longSseReply(2_000, 'word ', { delayMs: 20 }))
    // 100 streams from one client: its whole share, exactly. No grace: nobody is coming back.
    const { app, base } = await serve({ STREAMS_PER_CLIENT: '100', STREAM_RESUME_GRACE_MS: '0' })
    const abandonedBefore = upstream.abandonedRequests
    const clients = await Promise.all(Array.from({ length: 100 }, () => openAndReadFirstFrame(base)))
    expect(app.streams.size).toBe(100)
    for (const client of clients) client.hangUp()
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 100)
    await waitFor(() => app.streams.size === 0 && upstream.openConnections === 0)
    // 100 streams opened, then each abandoned through its grace: 14 s alone on a busy 2-core machine.
  }, 45_000)

  it('before the first event: the pending upstream request is closed and not retried', async () => {
    upstream.reset({ kind: 'stall' })
    const { app, base, logs } = await serve({ RETRY_ATTEMPTS: '3' })
    const abandonedBefore = upstream.abandonedRequests
    const controller = new AbortController()
    const request = fetch(`${base}/stream?prompt=hi`, {
      headers: { 'x-request-id': 'gone-before-first-event' },
      signal: controller.signal,
    }).catch(() => undefined)
    await waitFor(() => upstream.received.length === 1)
    controller.abort()
    await request
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    // The retry policy has given up once the handler logs the client's departure: count after that.
    await waitFor(clientGoneLogged(logs, 'gone-before-first-event'))
    expect(upstream.received).toHaveLength(1)
    expect(app.streams.size).toBe(0)
  })

  it('during a retry wait: no further attempt is made', async () => {
    upstream.reset(errorReply(500))
    const { app, base, logs } = await serve({
      RETRY_ATTEMPTS: '3',
      RETRY_MIN_DELAY_MS: '300',
      RETRY_MAX_DELAY_MS: '300',
    })
    const controller = new AbortController()
    const request = fetch(`${base}/stream?prompt=hi`, {
      headers: { 'x-request-id': 'gone-during-retry-wait' },
      signal: controller.signal,
    }).catch(() => undefined)
    await waitFor(() => upstream.received.length === 1)
    controller.abort()
    await request
    await waitFor(clientGoneLogged(logs, 'gone-during-retry-wait'))
    expect(upstream.received).toHaveLength(1)
    expect(app.streams.size).toBe(0)
  })
})

describe('timeouts', () => {
  it('no first event in time: 504 before any byte of the stream', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { headersDelayMs: 1_000 }))
    const { base } = await serve({ RETRY_ATTEMPTS: '1', STREAM_FIRST_EVENT_TIMEOUT_MS: '100' })
    const response = await fetch(`${base}/stream?prompt=hi`)
    expect(response.status).toBe(504)
    expect(await response.json()).toEqual({ detail: 'The AI provider did not answer in time' })
  })

  it('an idle gap longer than the limit ends the stream with a timeout frame and closes the upstream', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { stallAfter: 7 }))
    const { base, logs } = await serve({ STREAM_IDLE_TIMEOUT_MS: '150' })
    const abandonedBefore = upstream.abandonedRequests
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.text).toBe('Hi there!')
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider did not answer in time' })
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    expect(
      logs.some((line) => String(line.detail).includes('no upstream event between events within 150 ms')),
    ).toBe(true)
  })

  it('a stream longer than the total limit ends with a timeout frame before the upstream has finished', async () => {
    // 1,000 deltas 10 ms apart take at least 10 s upstream; the limit is 300 ms.
    const reply = longSseReply(1_000, 'word ', { delayMs: 10 })
    upstream.reset(reply)
    const { base } = await serve({ STREAM_TOTAL_TIMEOUT_MS: '300' })
    const writtenBefore = upstream.chunksWritten
    const abandonedBefore = upstream.abandonedRequests
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The AI provider did not answer in time' })
    expect(stream.text.length).toBeGreaterThan(0)
    // Order, not speed: the stream ended while the upstream was still sending, and its request was closed.
    expect(upstream.chunksWritten - writtenBefore).toBeLessThan(chunkCount(reply))
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
  })

  it('never kills a stream that keeps flowing within its limits, however long it lasts', async () => {
    // 150 gaps of at least 10 ms: the stream lasts at least 1.5 s, three times the first-event and idle
    // limits. The fake and the app share one event loop, so a pause of the loop (a busy machine, GC)
    // stretches a gap as the app sees it: the limits leave 490 ms for that, not 140 ms as gaps of 60 ms
    // against limits of 200 ms did (a 2-core run killed that stream).
    upstream.reset(longSseReply(150, 'word ', { delayMs: 10 }))
    const { base } = await serve({ STREAM_FIRST_EVENT_TIMEOUT_MS: '500', STREAM_IDLE_TIMEOUT_MS: '500' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.last).toEqual({ done: true })
    expect(stream.text).toBe('word '.repeat(150))
  })
})

describe('heartbeats', () => {
  it('sends `: ping` comments while no data flows', async () => {
    upstream.reset(sseReply('openai-responses-stream.sse', { delayMs: 120 }))
    const { base } = await serve({ SSE_HEARTBEAT_MS: '40' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    expect(stream.comments.filter((comment) => comment === 'ping').length).toBeGreaterThanOrEqual(10)
    expect(stream.last).toEqual({ done: true })
  })

  it('sends none while data flows faster than the interval', async () => {
    upstream.reset(sseReply())
    const { base } = await serve({ SSE_HEARTBEAT_MS: '5000' })
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    // A resumable stream opens with its stream_id frame, not the `: stream open` comment.
    expect(stream.comments).toEqual([])
  })
})

describe('backpressure', () => {
  it('stops reading the upstream while the client does not read, and resumes when it does', async () => {
    const deltas = 6_000
    upstream.reset(longSseReply(deltas, 'x'.repeat(10_000)))
    const { app, base } = await serve()
    const responses: ServerResponse[] = []
    app.server.on('request', (_request, response: ServerResponse) => responses.push(response))
    const writtenBefore = upstream.chunksWritten
    const { port } = new URL(base)
    const socket = connect(Number(port), '127.0.0.1')
    onTestFinished(() => {
      socket.destroy()
    })
    socket.write(`GET /stream?prompt=hi HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`)
    socket.pause()
    // Every buffer on the way has filled once the app waits for its full response to drain and the
    // upstream waits for the app to read: from then on nothing moves until the client reads. An app
    // that ignored backpressure would never wait for drain; the generous bound only limits how long
    // that failure takes to report, as megabytes cross loopback first on a busy machine.
    await waitFor(() => (responses[0]?.listenerCount('drain') ?? 0) > 0 && upstream.waitingForDrain > 0, {
      timeout: 30_000,
    })
    const written = upstream.chunksWritten - writtenBefore
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
  }, 60_000)
})

describe('shutdown', () => {
  it('ends streams that outlast the grace with a last frame, and closes before the upstream has finished', async () => {
    // 2,000 deltas 20 ms apart take at least 40 s upstream.
    const reply = longSseReply(2_000, 'word ', { delayMs: 20 })
    upstream.reset(reply)
    const { app, base } = await serve({ SHUTDOWN_GRACE_MS: '100' })
    const writtenBefore = upstream.chunksWritten
    const abandonedBefore = upstream.abandonedRequests
    const response = await fetch(`${base}/stream?prompt=hi`)
    const reading = readSse(response)
    await waitFor(() => upstream.chunksWritten > writtenBefore && app.streams.size === 1)
    await app.close()
    // Order, not speed: close() returned with every stream ended while the upstream was still sending,
    // and the upstream request was closed.
    expect(app.streams.size).toBe(0)
    expect(upstream.chunksWritten - writtenBefore).toBeLessThan(chunkCount(reply))
    const stream = await reading
    expect(stream.last).toEqual({
      error: 'stream_error',
      detail: 'The server is shutting down; retry the request',
    })
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
  })
})
