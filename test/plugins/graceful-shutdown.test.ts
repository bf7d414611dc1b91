import { describe, expect, it } from 'vitest'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { longSseReply, okReply } from '../fakes/openai.js'
import { heldReply } from '../fakes/upstream.js'
import { serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

const fake = useFakeOpenAI()

const SHUTTING_DOWN = { detail: 'The server is shutting down; retry the request' }

/** An app listening on loopback, pointed at the fake, with this grace; closed after the test. */
function serve(graceMs: number, options: Parameters<typeof serveTestApp>[1] = {}) {
  const environment = { OPENAI_BASE_URL: fake.upstream.url, SHUTDOWN_GRACE_MS: String(graceMs) }
  return serveTestApp(testConfig(environment), options)
}

const chat = (base: string) =>
  fetch(`${base}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  })

const waitingLogged = (logs: Record<string, unknown>[]) => () =>
  logs.some((line) => line.msg === 'shutting down: waiting for the requests in flight')

/** An app whose close() has begun while a /chat waits on an upstream the test releases; the grace is long. */
async function closingWithChatInFlight() {
  const held = heldReply()
  fake.upstream.enqueue(held.reply)
  const { app, base, logs } = await serve(60_000)
  const answer = chat(base)
  await waitFor(() => fake.upstream.received.length === 1)
  let closed = false
  const closing = app.close().then(() => {
    closed = true
  })
  await waitFor(waitingLogged(logs))
  return { base, answer, closing, isClosed: () => closed, release: () => held.release(okReply()) }
}

describe('app.close() with requests in flight', () => {
  it('a /chat still waiting on its upstream when the grace ends is answered 503 {"detail"}, and its upstream request abandoned', async () => {
    fake.upstream.reset({ kind: 'stall' })
    const { app, base } = await serve(100)
    const abandonedBefore = fake.upstream.abandonedRequests
    const answer = chat(base)
    await waitFor(() => fake.upstream.received.length === 1)
    await app.close()
    const response = await answer
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual(SHUTTING_DOWN)
    await waitFor(() => fake.upstream.abandonedRequests - abandonedBefore === 1)
  })

  it('a /chat that completes within the grace gets its 200, and close() waits for it', async () => {
    const { answer, closing, isClosed, release } = await closingWithChatInFlight()
    expect(isClosed()).toBe(false)
    release()
    const response = await answer
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ text: 'Hi there! How can I help you today?' })
    await closing
  })

  it('a new request meanwhile is answered 503 {"detail"} with connection: close', async () => {
    const { base, answer, closing, release } = await closingWithChatInFlight()
    const refused = await fetch(`${base}/health`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('connection')).toBe('close')
    expect(await refused.json()).toEqual(SHUTTING_DOWN)
    release()
    expect((await answer).status).toBe(200)
    await closing
  })

  it('GET /ready meanwhile is 503, so a load balancer drains the server', async () => {
    const { base, answer, closing, release } = await closingWithChatInFlight()
    const probe = await fetch(`${base}/ready`)
    expect(probe.status).toBe(503)
    expect(await probe.json()).toEqual(SHUTTING_DOWN)
    release()
    expect((await answer).status).toBe(200)
    await closing
  })

  it('a stream that finishes within the grace ends with its own last frame', async () => {
    fake.upstream.reset(longSseReply(20, 'word ', { delayMs: 20 }))
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
