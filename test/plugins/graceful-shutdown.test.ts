import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { longSseReply, okReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream, UpstreamReply } from '../fakes/upstream.js'
import { serveTestApp, testConfig } from '../helpers.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

let upstream: FakeUpstream

beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})
beforeEach(() => {
  upstream.reset(okReply())
})

const SHUTTING_DOWN = { detail: 'The server is shutting down; retry the request' }

/** An app listening on loopback, pointed at the fake, with this grace; closed after the test. */
function serve(graceMs: number, options: Parameters<typeof serveTestApp>[1] = {}) {
  const environment = { OPENAI_BASE_URL: upstream.url, SHUTDOWN_GRACE_MS: String(graceMs) }
  return serveTestApp(testConfig(environment), options)
}

const chat = (base: string) =>
  fetch(`${base}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  })

/** An upstream reply the test releases when it chooses. */
function heldReply() {
  let release: (reply: UpstreamReply) => void = () => {}
  const reply: UpstreamReply = { kind: 'held', release: new Promise((resolve) => (release = resolve)) }
  return { reply, release }
}

const waitingLogged = (logs: Record<string, unknown>[]) => () =>
  logs.some((line) => line.msg === 'shutting down: waiting for the requests in flight')

describe('app.close() with requests in flight', () => {
  it('a /chat still waiting on its upstream when the grace ends is answered 503 {"detail"}, and its upstream request abandoned', async () => {
    upstream.reset({ kind: 'stall' })
    const { app, base } = await serve(100)
    const abandonedBefore = upstream.abandonedRequests
    const answer = chat(base)
    await waitFor(() => upstream.received.length === 1)
    await app.close()
    const response = await answer
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual(SHUTTING_DOWN)
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
  })

  it('a /chat that completes within the grace gets its 200, and close() waits for it', async () => {
    const held = heldReply()
    upstream.enqueue(held.reply)
    const { app, base, logs } = await serve(60_000)
    const answer = chat(base)
    await waitFor(() => upstream.received.length === 1)
    let closed = false
    const closing = app.close().then(() => {
      closed = true
    })
    await waitFor(waitingLogged(logs))
    expect(closed).toBe(false)
    held.release(okReply())
    const response = await answer
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ text: 'Hi there! How can I help you today?' })
    await closing
  })

  it('a new request meanwhile is answered 503 {"detail"} with connection: close', async () => {
    const held = heldReply()
    upstream.enqueue(held.reply)
    const { app, base, logs } = await serve(60_000)
    const answer = chat(base)
    await waitFor(() => upstream.received.length === 1)
    const closing = app.close()
    await waitFor(waitingLogged(logs))
    const refused = await fetch(`${base}/health`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('connection')).toBe('close')
    expect(await refused.json()).toEqual(SHUTTING_DOWN)
    held.release(okReply())
    expect((await answer).status).toBe(200)
    await closing
  })

  it('a stream that finishes within the grace ends with its own last frame', async () => {
    upstream.reset(longSseReply(20, 'word ', { delayMs: 20 }))
    const { app, base, logs } = await serve(60_000)
    const response = await fetch(`${base}/stream?prompt=hi`)
    const reading = readSse(response)
    await waitFor(() => app.streams.size === 1)
    const closing = app.close()
    await waitFor(waitingLogged(logs))
    const stream = await reading
    expect(stream.last).toEqual({ done: true })
    expect(stream.text).toBe('word '.repeat(20))
    await closing
  })

  it('a request that does not heed the cancellation has its connection closed after the flush, and close() ends', async () => {
    let listing = false
    const store = emptyDocumentStore({
      list: () => {
        listing = true
        return new Promise(() => {})
      },
    })
    const { app, base, logs } = await serve(50, { store })
    const answer = fetch(`${base}/documents`).then(
      (response) => `answered ${response.status}`,
      () => 'connection closed',
    )
    await waitFor(() => listing)
    await app.close()
    expect(await answer).toBe('connection closed')
    expect(logs.map((line) => line.msg)).toContain('closing the connections whose answer could not be sent')
  })
})
