import type { FastifyInstance } from 'fastify'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { CancelSignal } from '../../src/cancellation.js'
import { ServerShuttingDownError, UpstreamUnavailableError } from '../../src/errors.js'
import type { ChatProvider } from '../../src/providers/provider.js'
import { createRetryPolicy } from '../../src/providers/retry.js'
import { ndjson } from '../../src/streaming/ndjson.js'
import type { Stage } from '../../src/streaming/pipeline.js'
import { fixedSource, providerSource, type SourceOpener } from '../../src/streaming/source.js'
import { sse } from '../../src/streaming/sse.js'
import { sendStream } from '../../src/streaming/stream-body.js'
import { StreamSession } from '../../src/streaming/stream-session.js'
import type { WireFormat } from '../../src/streaming/wire-format.js'
import { buildTestApp, listen, testConfig } from '../helpers.js'
import { waitFor } from '../wait-for.js'
import { deferred, delta, end, InMemoryProvider, request, stall, start } from './doubles.js'

interface StreamRoute {
  /** The stream's source, for the request being answered. */
  open: (call: { requestId: string; timing: { upstreamMs: number } }) => SourceOpener
  /** Its stages. */
  stages?: () => Stage[]
  /** Its wire format. */
  format: () => WireFormat
  /** Anything to add to the app before the route (hooks). */
  configure?: (app: FastifyInstance) => void
  /** The session's client signal, instead of the request's. */
  clientSignal?: CancelSignal
}

/**
 * The real app with a test-only `GET /test-stream` that opens a session and sends it with sendStream. The
 * sessions are kept so a test can wait for them to close; whatever is left open is cancelled at the end.
 */
async function appStreaming(route: StreamRoute) {
  const harness = await buildTestApp(testConfig())
  const sessions: StreamSession[] = []
  onTestFinished(async () => {
    for (const session of sessions) session.cancel(new ServerShuttingDownError())
    await harness.app.close()
  })
  route.configure?.(harness.app)
  harness.app.get('/test-stream', async (httpRequest, reply) => {
    const session = new StreamSession({
      open: route.open({ requestId: httpRequest.id, timing: httpRequest.timing }),
      stages: route.stages?.() ?? [],
      clientSignal: route.clientSignal ?? httpRequest.clientSignal,
    })
    sessions.push(session)
    await session.open()
    return sendStream(reply, session, route.format())
  })
  return { ...harness, sessions }
}

/** The source of an in-memory provider's stream, as a route would open it. */
const fromProvider =
  (provider: ChatProvider): StreamRoute['open'] =>
  ({ requestId, timing }) =>
    providerSource({
      provider,
      request,
      requestId,
      timing,
      retry: createRetryPolicy({ attempts: 1, minDelayMs: 1, maxDelayMs: 1 }),
      firstEventMs: 60_000,
    })

const quietSse = () => sse({ heartbeatMs: 60_000 })

/** Reads a response body until `until` holds for what has arrived (or to its end without one). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: (text: string) => boolean) {
  const decoder = new TextDecoder()
  let text = ''
  while (!until(text)) {
    const { value, done } = await reader.read()
    if (done) return text
    text += decoder.decode(value, { stream: true })
  }
  return text
}

const streamFailures = (logs: Record<string, unknown>[]) =>
  logs.filter((line) => String(line.msg).startsWith('stream failed after it began'))

describe('sendStream', () => {
  it('sends the format’s headers with the request id and Server-Timing, as every reply', async () => {
    const { app } = await appStreaming({
      open: fromProvider(new InMemoryProvider([start(), delta('Hi'), end()])),
      format: quietSse,
    })
    const response = await app.inject({ url: '/test-stream', headers: { 'x-request-id': 'stream-body-1' } })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['cache-control']).toBe('no-cache')
    expect(response.headers['x-accel-buffering']).toBe('no')
    expect(response.headers['x-request-id']).toBe('stream-body-1')
    expect(response.headers['server-timing']).toMatch(/^upstream;dur=\d+\.\d\d, gateway;dur=\d+\.\d\d$/)
  })

  it('applies the app’s reply decorations, which ordinary replies get through onSend', async () => {
    const { app } = await appStreaming({
      open: () => fixedSource(start(), end()),
      format: quietSse,
      configure(app) {
        app.replyDecorations.add((reply) => reply.header('x-decorated', String(reply.statusCode)))
        app.get('/ordinary', async () => ({ ok: true }))
      },
    })
    const stream = await app.inject({ url: '/test-stream' })
    const ordinary = await app.inject({ url: '/ordinary' })
    expect(stream.headers['x-decorated']).toBe('200')
    expect(ordinary.headers['x-decorated']).toBe('200')
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8')
  })

  it('writes the preface, then each event’s frame, and ends the response', async () => {
    const { app, sessions } = await appStreaming({
      open: () => fixedSource(start(), delta('Hi'), delta(''), delta(' there'), end()),
      format: () => sse({ heartbeatMs: 60_000, preface: { sources: ['doc-1'] } }),
    })
    const response = await app.inject({ url: '/test-stream' })
    expect(response.body).toBe(
      'id: 1\ndata: {"sources":["doc-1"]}\n\n' +
        ': stream open\n\n' +
        'id: 2\ndata: {"content":"Hi"}\n\n' +
        'id: 3\ndata: {"content":" there"}\n\n' +
        'id: 4\ndata: {"done":true}\n\n',
    )
    await sessions[0]?.closed
  })

  it('writes NDJSON streams as the upstream’s raw lines', async () => {
    const { app } = await appStreaming({
      open: () =>
        fixedSource(
          { type: 'start', model: 'llama3.2', raw: '{"response":"Hi","done":false}' },
          { type: 'end', finishReason: 'stop', raw: '{"response":"","done":true}' },
        ),
      format: ndjson,
    })
    const response = await app.inject({ url: '/test-stream' })
    expect(response.headers['content-type']).toBe('application/x-ndjson')
    expect(response.body).toBe('{"response":"Hi","done":false}\n{"response":"","done":true}\n')
  })

  it('writes a heartbeat after the interval without frames', async () => {
    const upstreamGoesOn = deferred()
    const { app } = await appStreaming({
      open: fromProvider(
        new InMemoryProvider([start(), { waits: () => upstreamGoesOn.promise }, delta('Hi'), end()]),
      ),
      format: () => sse({ heartbeatMs: 20 }),
    })
    const response = await fetch(`${await listen(app)}/test-stream`)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const untilPing = await readUntil(reader, (text) => text.includes(': ping\n\n'))
    upstreamGoesOn.resolve()
    const body = untilPing + (await readUntil(reader, () => false))
    expect(body.startsWith(': stream open\n\n: ping\n\n')).toBe(true)
    expect(body.replaceAll(': ping\n\n', '')).toBe(
      ': stream open\n\nid: 1\ndata: {"content":"Hi"}\n\nid: 2\ndata: {"done":true}\n\n',
    )
  })

  it('logs a failure after the stream began once, at warn, and ends with its frame', async () => {
    const failure = new UpstreamUnavailableError({ logDetail: 'upstream connection reset' })
    const { app, logs } = await appStreaming({
      open: fromProvider(new InMemoryProvider([start(), delta('Hi'), { throws: failure }])),
      format: quietSse,
    })
    const response = await app.inject({ url: '/test-stream' })
    expect(response.body).toBe(
      ': stream open\n\nid: 1\ndata: {"content":"Hi"}\n\n' +
        'id: 2\ndata: {"error":"stream_error","detail":"The AI provider is unavailable"}\n\n',
    )
    const failures = streamFailures(logs)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({
      level: 40,
      code: 'upstream_unavailable',
      detail: 'upstream connection reset',
      msg: 'stream failed after it began: The AI provider is unavailable',
    })
  })

  it('does not log a client that leaves as a stream failure', async () => {
    const provider = new InMemoryProvider([start(), delta('Hi'), stall])
    const { app, logs, sessions } = await appStreaming({ open: fromProvider(provider), format: quietSse })
    const client = new AbortController()
    const response = await fetch(`${await listen(app)}/test-stream`, { signal: client.signal })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await readUntil(reader, (text) => text.includes('data:'))
    client.abort()
    await sessions[0]?.closed
    expect(provider.calls[0]?.signal.reason?.code).toBe('client_closed_request')
    expect(streamFailures(logs)).toEqual([])
  })

  it('ends the response with an error frame on a stage bug, and logs it as a relay failure', async () => {
    const bug = new Error('stage bug')
    const { app, logs } = await appStreaming({
      open: () => fixedSource(start(), delta('boom'), end()),
      stages: () => [
        {
          transform(event, context) {
            if (event.type === 'part' && event.part.type === 'text-delta') throw bug
            context.emit(event)
          },
        },
      ],
      format: quietSse,
    })
    const response = await app.inject({ url: '/test-stream' })
    expect(response.body).toBe(
      ': stream open\n\nid: 1\ndata: {"error":"stream_error","detail":"Internal Server Error"}\n\n',
    )
    await waitFor(() => logs.some((line) => line.msg === 'stream relay failed'))
    const relayFailures = logs.filter((line) => line.msg === 'stream relay failed')
    expect(relayFailures).toHaveLength(1)
    expect(relayFailures[0]).toMatchObject({ level: 50, err: { message: 'stage bug' } })
  })
})
