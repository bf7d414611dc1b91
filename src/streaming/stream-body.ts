import { once } from 'node:events'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { type AppError, ClientClosedRequestError, StreamCancelledError } from '../errors.js'
import { drained } from './drained.js'
import type { EventSink, RelayEvent } from './pipeline.js'
import { isTerminal, type LogReader } from './replay-log.js'
import { type Following, SHUTDOWN_RECONNECT_MS } from './resumption.js'
import type { StreamSession } from './stream-session.js'
import type { WireFormat } from './wire-format.js'

/**
 * Sends an opened stream as the reply, in a wire format; resolves when the stream is over (a resumable
 * one: when this client's response has closed, the stream going on into its log). The one place
 * a stream is written to a response, and the one place replies bypass Fastify's `onSend` hooks: the
 * reply is hijacked and its frames are written straight to the socket. In their stead it applies the
 * app's reply decorations (plugins/reply-decorations.ts: Server-Timing, and whatever plugins add), and
 * it writes the headers other hooks set on the reply (the request id, CORS, limits). Fastify's stream
 * path costs ~5 KiB of memory per open stream (three `finished()` watchers, BENCHMARKS.md) and a Node
 * stream between the session and the socket ~90 µs of CPU per 20-delta stream. `onResponse` hooks and
 * the access log still run when the response finishes.
 */
export async function sendStream(
  reply: FastifyReply,
  session: StreamSession,
  format: WireFormat,
): Promise<void> {
  const resumable = session.resumable
  const resumption = reply.server.streams.resumption
  if (resumable && resumption && resumable.begin(format.preface, (error) => logFailure(reply.log, error))) {
    // The session runs into its log on its own; this client is its first follower (README "Resumable streams").
    const body = new StreamBody(writeHead(reply, format, resumable.id), format, reply.log)
    const followed = body.start().follow(resumption.first(resumable))
    session.run(resumable).catch((error: unknown) => reply.log.error({ err: error }, 'stream relay failed'))
    return followed
  }
  const body = new StreamBody(writeHead(reply, format), format, reply.log)
  try {
    await session.run(body.start())
  } catch (error) {
    reply.log.error({ err: error }, 'stream relay failed')
  }
}

/**
 * Follows a resumable stream from its log (a request carrying a Last-Event-ID, or `GET /stream/{id}`):
 * resolves once the response has closed.
 */
export function sendFollower(reply: FastifyReply, following: Following, format: WireFormat): Promise<void> {
  const withPreface = { ...format, preface: following.preface }
  const body = new StreamBody(writeHead(reply, format, following.streamId), withPreface, reply.log)
  return body.start().follow(following)
}

/** A stream's failure after it began, in the log (the client's leaving, or a DELETE, is not one). */
function logFailure(log: FastifyBaseLogger, error: AppError): void {
  if (error instanceof ClientClosedRequestError || error instanceof StreamCancelledError) return
  const { code, logDetail, message } = error
  log.warn({ code, detail: logDetail }, `stream failed after it began: ${message}`)
}

/** Takes the reply over and writes its 200 with the app's decorations and the format's headers. */
function writeHead(reply: FastifyReply, format: WireFormat, streamId?: string): ServerResponse {
  reply.hijack()
  reply.server.replyDecorations.apply(reply)
  reply.headers(format.headers)
  if (streamId !== undefined) reply.header('x-stream-id', streamId)
  reply.raw.writeHead(200, reply.getHeaders() as OutgoingHttpHeaders)
  return reply.raw
}

/**
 * The sink of a streamed reply: each event's frame is written straight to the response, and the session
 * waits for `drain` whenever the response is full (backpressure reaches the upstream read).
 */
class StreamBody implements EventSink, LogReader {
  readonly #response: ServerResponse
  readonly #format: WireFormat
  readonly #log: FastifyBaseLogger
  #lastWriteAt = performance.now()
  #heartbeat: NodeJS.Timeout | undefined

  constructor(response: ServerResponse, format: WireFormat, log: FastifyBaseLogger) {
    this.#response = response
    this.#format = format
    this.#log = log
  }

  /** Writes the preface and starts the heartbeat. */
  start(): this {
    if (this.#format.preface !== undefined) this.#write(this.#format.preface)
    this.#armHeartbeat(this.#format.heartbeat?.intervalMs ?? 0)
    return this
  }

  deliver(event: RelayEvent): void {
    if (event.type === 'failure') logFailure(this.#log, event.error)
    const frame = this.#format.encode(event)
    if (frame !== undefined) this.#write(frame)
  }

  /** Reads a resumable stream from its log until the terminal frame, or the client leaves; resolves once closed. */
  async follow(following: Following): Promise<void> {
    const response = this.#response
    const subscription = following.start(this, () => this.#hangUp())
    const resume = () => subscription.resume()
    response.on('drain', resume)
    if (!response.closed) await once(response, 'close')
    response.off('drain', resume)
    subscription.close()
    clearTimeout(this.#heartbeat)
  }

  next(seq: number, event: RelayEvent): boolean {
    const frame = this.#format.encode(event, seq)
    if (frame !== undefined) this.#write(frame)
    if (isTerminal(event)) void this.end()
    return !this.#response.writableNeedDrain
  }

  lost(): void {
    // Closed without a terminal frame: the client reconnects, and is told its frames are gone (410).
    void this.end()
  }

  /** Shutdown: the client is to reconnect soon (to another instance) and resume there. */
  #hangUp(): void {
    this.#write(`retry: ${SHUTDOWN_RECONNECT_MS}\n\n`)
    void this.end()
  }

  ready(): Promise<void> | undefined {
    const response = this.#response
    return response.writableNeedDrain && !response.destroyed ? drained(response) : undefined
  }

  end(): Promise<void> | undefined {
    clearTimeout(this.#heartbeat)
    const response = this.#response
    if (!response.writableEnded) response.end()
    return response.closed ? undefined : once(response, 'close').then(() => {})
  }

  #write(frame: string): void {
    if (this.#response.destroyed) return
    this.#lastWriteAt = performance.now()
    this.#response.write(frame)
  }

  /** One timer, re-armed when it fires (never per frame): a heartbeat after an interval without frames. */
  #armHeartbeat(delay: number): void {
    const heartbeat = this.#format.heartbeat
    if (heartbeat) this.#heartbeat = setTimeout(() => this.#beat(heartbeat), Math.max(1, delay))
  }

  #beat(heartbeat: NonNullable<WireFormat['heartbeat']>): void {
    const response = this.#response
    if (response.writableEnded) return
    const quietFor = performance.now() - this.#lastWriteAt
    if (quietFor < heartbeat.intervalMs) {
      this.#armHeartbeat(heartbeat.intervalMs - quietFor)
      return
    }
    // A full response needs no heartbeat: the client is reading what it has, not waiting.
    if (!response.writableNeedDrain) this.#write(heartbeat.frame)
    this.#armHeartbeat(heartbeat.intervalMs)
  }
}
