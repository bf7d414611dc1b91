import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppError } from '../errors.js'
import type { ChatProvider, GenerateRequest } from '../providers/provider.js'
import { serverTiming } from '../request-context.js'
import { drained } from './drained.js'
import { type RelayEvent, StreamSession } from './stream-session.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Streams in flight: shutdown ends them, tests count them. */
    streams: Set<StreamSession>
  }
}

/** How long shutdown waits for open streams to write their last frame. */
const SHUTDOWN_GRACE_MS = 5_000

/**
 * Keeps the registry of open streams. On close, ends each with a last frame and waits until its response
 * has closed, so its keep-alive connection is idle when the server closes idle connections.
 */
export function registerStreams(app: FastifyInstance) {
  app.decorate('streams', new Set<StreamSession>())
  app.addHook('preClose', async () => {
    const sessions = [...app.streams]
    for (const session of sessions) session.shutdown()
    const grace = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())
    await Promise.race([Promise.all(sessions.map((session) => session.closed)), grace])
  })
}

/** Opens a stream for this request: resolves when the upstream's first event arrived, or rejects. */
export async function openStream(
  app: FastifyInstance,
  request: FastifyRequest,
  provider: ChatProvider,
  generateRequest: GenerateRequest,
): Promise<StreamSession> {
  const { config } = app
  const session = new StreamSession({
    provider,
    request: generateRequest,
    requestId: request.id,
    timing: request.timing,
    clientSignal: request.clientSignal,
    retry: app.retry,
    registry: app.streams,
    limits: {
      firstEventMs: config.STREAM_FIRST_EVENT_TIMEOUT_MS,
      idleMs: config.STREAM_IDLE_TIMEOUT_MS,
      totalMs: config.STREAM_TOTAL_TIMEOUT_MS,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
    },
  })
  await session.open()
  return session
}

/** A wire format: the frame for each relay event (undefined: none), and a frame to send first. */
export interface WireFormat {
  first?: string
  frame(event: RelayEvent): string | undefined
}

/**
 * Sends a session's events in a wire format. The frames are written straight to the socket: a slow
 * client pauses the generator, and with it the upstream read (backpressure); a closed socket ends the
 * session through the request's client signal.
 */
export function sendStream(
  reply: FastifyReply,
  session: StreamSession,
  headers: Record<string, string>,
  format: (onFailure: (error: AppError) => void) => WireFormat,
) {
  const onFailure = (error: AppError) =>
    reply.log.warn(
      { code: error.code, detail: error.logDetail },
      `stream failed after it began: ${error.message}`,
    )
  session.bindResponse(reply.raw)
  return sendFrames(reply, headers, session.events(), format(onFailure))
}

/**
 * Writes the events' frames to the response, waiting for `drain` whenever the socket is full.
 * The reply is hijacked: a Node stream piped by Fastify cost ~90 µs of CPU per 20-delta stream
 * (BENCHMARKS.md). Fastify still logs the request when the response finishes.
 */
export async function sendFrames(
  reply: FastifyReply,
  headers: Record<string, string>,
  events: AsyncIterable<RelayEvent>,
  format: WireFormat,
): Promise<void> {
  const response = reply.raw
  reply.hijack()
  reply.headers(headers).header('server-timing', serverTiming(reply))
  response.writeHead(200, reply.getHeaders() as OutgoingHttpHeaders)
  try {
    if (format.first !== undefined) response.write(format.first)
    for await (const event of events) {
      const frame = format.frame(event)
      if (frame === undefined) continue
      if (response.destroyed) break
      if (!response.write(frame)) await drained(response)
    }
  } catch (error) {
    // The formats end every failure with a frame of their own; anything else is a bug worth a log line.
    reply.log.error({ err: error }, 'stream relay failed')
  } finally {
    response.end()
  }
}
