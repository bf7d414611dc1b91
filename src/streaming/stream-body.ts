import { EventEmitter, once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { ClientClosedRequestError } from '../errors.js'
import { drained } from './drained.js'
import type { EventSink, RelayEvent } from './pipeline.js'
import type { StreamSession } from './stream-session.js'
import type { WireFormat } from './wire-format.js'

/**
 * Sends an opened stream as the reply, in a wire format. It goes through `reply.send()`, so every
 * `onSend` hook runs and the reply's headers are sent as for any other reply (Server-Timing, the request
 * id, and whatever later plugins add); Fastify then pipes the body into the response.
 */
export function sendStream(reply: FastifyReply, session: StreamSession, format: WireFormat): FastifyReply {
  return reply.headers(format.headers).send(new StreamBody(session, format, reply.log))
}

/**
 * The body of a streamed reply, and the sink of its session: each event's frame is written straight to
 * the response, and the session waits for `drain` whenever the response is full. It is not a Readable:
 * Fastify needs of a stream body only `pipe()` and its `end`/`close` events, and a Node stream between the
 * session and the socket cost ~90 µs of CPU per 20-delta stream (BENCHMARKS.md). This is the one place
 * that writes a stream to a response.
 */
class StreamBody extends EventEmitter implements EventSink {
  readonly #session: StreamSession
  readonly #format: WireFormat
  readonly #log: FastifyBaseLogger
  #response: ServerResponse | undefined
  #lastWriteAt = 0
  #heartbeat: NodeJS.Timeout | undefined

  constructor(session: StreamSession, format: WireFormat, log: FastifyBaseLogger) {
    super()
    this.#session = session
    this.#format = format
    this.#log = log
  }

  /** Called by Fastify once the headers are decided: the stream starts flowing. */
  pipe<T extends NodeJS.WritableStream>(destination: T): T {
    this.#response = destination as unknown as ServerResponse
    this.#lastWriteAt = performance.now()
    if (this.#format.preface !== undefined) this.#write(this.#format.preface)
    this.#armHeartbeat(this.#format.heartbeat?.intervalMs ?? 0)
    this.#session.run(this).catch((error: unknown) => this.#log.error({ err: error }, 'stream relay failed'))
    return destination
  }

  /** Called by Fastify when the response closed before the body ended: the client has gone. */
  destroy(): void {
    this.#session.cancel(new ClientClosedRequestError())
  }

  deliver(event: RelayEvent): void {
    if (event.type === 'failure' && !(event.error instanceof ClientClosedRequestError)) {
      const { code, logDetail, message } = event.error
      this.#log.warn({ code, detail: logDetail }, `stream failed after it began: ${message}`)
    }
    const frame = this.#format.encode(event)
    if (frame !== undefined) this.#write(frame)
  }

  ready(): Promise<void> | undefined {
    const response = this.#response
    return response?.writableNeedDrain && !response.destroyed ? drained(response) : undefined
  }

  end(): Promise<void> | undefined {
    clearTimeout(this.#heartbeat)
    const response = this.#response
    if (!response) return undefined
    this.emit('end')
    if (!response.writableEnded) response.end()
    this.emit('close')
    return response.closed ? undefined : once(response, 'close').then(() => {})
  }

  #write(frame: string): void {
    const response = this.#response
    if (!response || response.destroyed) return
    this.#lastWriteAt = performance.now()
    response.write(frame)
  }

  /** One timer, re-armed when it fires (never per frame): a heartbeat after an interval without frames. */
  #armHeartbeat(delay: number): void {
    const heartbeat = this.#format.heartbeat
    if (heartbeat) this.#heartbeat = setTimeout(() => this.#beat(heartbeat), Math.max(1, delay))
  }

  #beat(heartbeat: NonNullable<WireFormat['heartbeat']>): void {
    const response = this.#response
    if (!response || response.writableEnded) return
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
