import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey, hashKey } from '../../src/plugins/key-ring.js'
import { bearer } from '../access-keys.js'
import { longSseReply, sseReply, startFakeOpenAI } from '../fakes/openai.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { serveTestApp, testConfig } from '../helpers.js'
import { resumingClient, stopped } from '../resume-client.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

/** A well-formed stream id no stream has (ids are 128 random bits in base64url). */
const unknownStreamId = () => randomBytes(16).toString('base64url')

const FULL_TEXT = 'Hi there! How can I help you today?'

let upstream: FakeUpstream
beforeAll(async () => {
  upstream = await startFakeOpenAI()
})
afterAll(async () => {
  await upstream.close()
})

function serve(environment: Record<string, string> = {}) {
  return serveTestApp(testConfig({ OPENAI_BASE_URL: upstream.url, ...environment }))
}

/** Each content frame's id appears once, and ids only grow: every delta exactly once, in order. */
function expectEachFrameOnce(ids: string[]) {
  const seqs = ids.map((id) => Number(id.split(':')[1]))
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  expect(new Set(seqs).size).toBe(seqs.length)
}

describe('a real EventSource that never closes, its connection cut', () => {
  it.each([
    ['before the first delta', 1],
    ['mid-answer', 5],
    ['right after done (the server closes)', undefined],
  ])('%s: the complete text, each delta once, one generation, then 204 stops it', async (_name, cutAfter) => {
    upstream.reset(sseReply('openai-responses-stream.sse', { delayMs: 10 }))
    const { base } = await serve()
    const client = resumingClient(`${base}/stream?prompt=hi`, { cutAfter })
    await stopped(client)
    expect(client.text()).toBe(FULL_TEXT)
    expect(client.messages.at(-1)?.data).toEqual({ done: true })
    expectEachFrameOnce(client.messages.map((message) => message.id))
    expect(upstream.received).toHaveLength(1)
    // The reconnections carried the last id received, and the last one was told there is nothing more.
    const last = client.connections.at(-1)
    expect(last).toEqual({ lastEventId: client.messages.at(-1)?.id, status: 204 })
    expect(client.connections.length).toBe(cutAfter === undefined ? 2 : 3)
  })
})

/** Opens a stream with a slow upstream and reads until its first frame: the stream's id, and the rest. */
async function openSlowStream(base: string, headers: Record<string, string> = {}) {
  upstream.reset(longSseReply(40, 'word ', { delayMs: 10 }))
  const controller = new AbortController()
  const response = await fetch(`${base}/stream?prompt=hi`, { headers, signal: controller.signal })
  const streamId = response.headers.get('x-stream-id') as string
  return { response, streamId, hangUp: () => controller.abort() }
}

describe('following a stream', () => {
  it('two followers of GET /stream/{id} each get the whole answer, from one generation', async () => {
    const { base } = await serve()
    const { response, streamId } = await openSlowStream(base)
    const [first, second, original] = await Promise.all([
      readSse(await fetch(`${base}/stream/${streamId}`)),
      readSse(await fetch(`${base}/stream/${streamId}`)),
      readSse(response),
    ])
    for (const stream of [first, second, original]) {
      expect(stream.text).toBe('word '.repeat(40))
      expect(stream.last).toEqual({ done: true })
    }
    expect(first.frames.map((frame) => frame.id)).toEqual(original.frames.map((frame) => frame.id))
    expect(upstream.received).toHaveLength(1)
  })

  it('a client that left resumes with Last-Event-ID and gets the rest, each delta once', async () => {
    const { base } = await serve()
    const { response, hangUp } = await openSlowStream(base)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const { value } = await reader.read()
    const firstId = /id: (\S+)/.exec(new TextDecoder().decode(value))?.[1] as string
    hangUp()
    const rest = await readSse(
      await fetch(`${base}/stream?prompt=hi`, { headers: { 'last-event-id': firstId } }),
    )
    expect(rest.frames[0]?.id).toBe(`${firstId.split(':')[0]}:${Number(firstId.split(':')[1]) + 1}`)
    expect(rest.text).toBe('word '.repeat(40))
    expect(rest.last).toEqual({ done: true })
    expect(upstream.received).toHaveLength(1)
  })

  it('?last_event_id= on POST /stream resumes as the header does', async () => {
    const { base } = await serve()
    const { response, streamId } = await openSlowStream(base)
    await readSse(response)
    const rest = await readSse(
      await fetch(`${base}/stream?last_event_id=${streamId}:40`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hi' }),
      }),
    )
    expect(rest.frames.map((frame) => frame.data)).toEqual([{ content: 'word ' }, { done: true }])
    expect(upstream.received).toHaveLength(1)
  })

  it('after the terminal frame, a reconnect gets 204 and no generation', async () => {
    const { base } = await serve()
    upstream.reset(sseReply())
    const stream = await readSse(await fetch(`${base}/stream?prompt=hi`))
    const response = await fetch(`${base}/stream?prompt=hi`, {
      headers: { 'last-event-id': stream.frames.at(-1)?.id as string },
    })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    expect(upstream.received).toHaveLength(1)
  })

  it('an unknown stream id is a 410 with a detail, and no generation', async () => {
    const { base } = await serve()
    upstream.reset(sseReply())
    for (const response of [
      await fetch(`${base}/stream?prompt=hi`, { headers: { 'last-event-id': `${unknownStreamId()}:3` } }),
      await fetch(`${base}/stream/${unknownStreamId()}`),
    ]) {
      expect(response.status).toBe(410)
      expect(await response.json()).toEqual({
        detail: 'Unknown or expired stream: it cannot be resumed; start a new one',
      })
    }
    expect(upstream.received).toHaveLength(0)
  })

  it('an expired stream is a 410 once its retention is over', async () => {
    // Long enough for the first follow to come within it on a busy machine.
    const { base } = await serve({ STREAM_RESUME_RETENTION_MS: '2000' })
    upstream.reset(sseReply())
    const response = await fetch(`${base}/stream?prompt=hi`)
    const streamId = response.headers.get('x-stream-id') as string
    await readSse(response)
    expect((await fetch(`${base}/stream/${streamId}`)).status).toBe(200)
    await waitFor(async () => (await fetch(`${base}/stream/${streamId}`)).status === 410, { timeout: 10_000 })
    expect(upstream.received).toHaveLength(1)
  })

  it('a malformed Last-Event-ID is a 422, FastAPI-style, and no generation', async () => {
    const { base } = await serve()
    upstream.reset(sseReply())
    const response = await fetch(`${base}/stream?prompt=hi`, { headers: { 'last-event-id': '7' } })
    expect(response.status).toBe(422)
    expect(await response.json()).toEqual({
      detail: [
        {
          loc: ['header', 'last-event-id'],
          msg: 'must be the id of a frame of a resumable stream: <stream id>:<seq>',
          type: 'value_error',
        },
      ],
    })
    const query = await fetch(`${base}/stream?prompt=hi&last_event_id=nope`)
    expect(query.status).toBe(422)
    const { detail } = (await query.json()) as { detail: { loc: string[] }[] }
    expect(detail[0]?.loc).toEqual(['query', 'last_event_id'])
    expect((await fetch(`${base}/stream/not-a-uuid`)).status).toBe(422)
    const elsewhere = await fetch(`${base}/stream/${unknownStreamId()}`, {
      headers: { 'last-event-id': `${unknownStreamId()}:2` },
    })
    expect(elsewhere.status).toBe(422)
    expect(await elsewhere.json()).toEqual({
      detail: [
        { loc: ['header', 'last-event-id'], msg: 'names another stream than the path', type: 'value_error' },
      ],
    })
    expect(upstream.received).toHaveLength(0)
  })
})

describe('DELETE /stream/{id}', () => {
  it('aborts the upstream and ends the followers with a last frame saying so', async () => {
    const { base } = await serve()
    const abandonedBefore = upstream.abandonedRequests
    const { response, streamId } = await openSlowStream(base)
    const reading = readSse(response)
    const deleted = await fetch(`${base}/stream/${streamId}`, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    const stream = await reading
    expect(stream.last).toEqual({ error: 'stream_error', detail: 'The stream was cancelled' })
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    // Over now: a second DELETE has nothing to do, and says so the same way.
    expect((await fetch(`${base}/stream/${streamId}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('an unknown stream is a 410', async () => {
    const { base } = await serve()
    const response = await fetch(`${base}/stream/${unknownStreamId()}`, { method: 'DELETE' })
    expect(response.status).toBe(410)
    expect(await response.json()).toEqual({
      detail: 'Unknown or expired stream: it cannot be resumed; start a new one',
    })
  })
})

describe('the disconnect policy', () => {
  it('generation goes on after the client left, and is aborted once nobody came back within the grace', async () => {
    const { app, base } = await serve({ STREAM_RESUME_GRACE_MS: '300' })
    const abandonedBefore = upstream.abandonedRequests
    const { response, hangUp } = await openSlowStream(base)
    await (response.body as ReadableStream<Uint8Array>).getReader().read()
    const writtenAtHangUp = upstream.chunksWritten
    hangUp()
    // Order, not time: the upstream kept sending after the client left, then its request was closed.
    await waitFor(() => upstream.chunksWritten > writtenAtHangUp + 3)
    await waitFor(() => upstream.abandonedRequests - abandonedBefore === 1)
    await waitFor(() => app.streams.size === 0)
  })

  it('another API key cannot follow or cancel the stream (as unknown), an admin can', async () => {
    const [mine, theirs, admin] = [generateKey(), generateKey(), generateKey()]
    const { base } = await serve({
      API_KEY_HASHES: `mine:use:${hashKey(mine)},theirs:use:${hashKey(theirs)},ops:admin:${hashKey(admin)}`,
    })
    const { response, streamId } = await openSlowStream(base, bearer(mine))
    const reading = readSse(response)
    for (const request of [{}, { method: 'DELETE' }]) {
      const refused = await fetch(`${base}/stream/${streamId}`, { ...request, headers: bearer(theirs) })
      expect(refused.status).toBe(410)
    }
    const followed = await readSse(await fetch(`${base}/stream/${streamId}`, { headers: bearer(admin) }))
    expect(followed.text).toBe('word '.repeat(40))
    expect((await reading).text).toBe('word '.repeat(40))
  })
})

describe('STREAM_RESUME=false', () => {
  it('restores the stream as it was: ids from 1, no stream id, Last-Event-ID ignored, no /stream/{id}', async () => {
    const { base } = await serve({ STREAM_RESUME: 'false' })
    upstream.reset(sseReply())
    const response = await fetch(`${base}/stream?prompt=hi`, {
      headers: { 'last-event-id': `${unknownStreamId()}:3` },
    })
    expect(response.headers.get('x-stream-id')).toBeNull()
    const stream = await readSse(response)
    expect(stream.comments).toEqual(['stream open'])
    expect(stream.frames.map((frame) => frame.id)).toEqual(stream.frames.map((_, index) => String(index + 1)))
    expect(stream.text).toBe(FULL_TEXT)
    expect((await fetch(`${base}/stream/${unknownStreamId()}`)).status).toBe(404)
  })
})
