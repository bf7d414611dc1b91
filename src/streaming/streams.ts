import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppError } from '../errors.js'
import type { ChatProvider, GenerateRequest } from '../providers/provider.js'
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

type WireFormat = (
  events: AsyncIterable<RelayEvent>,
  onFailure: (error: AppError) => void,
) => AsyncIterable<string>

/**
 * Sends a session's events in a wire format. Fastify pipes the stream, so a slow client pauses the
 * generator and with it the upstream read (backpressure), and a closed socket destroys it.
 */
export function sendStream(
  reply: FastifyReply,
  session: StreamSession,
  headers: Record<string, string>,
  format: WireFormat,
) {
  const onFailure = (error: AppError) =>
    reply.log.warn(
      { code: error.code, detail: error.logDetail },
      `stream failed after it began: ${error.message}`,
    )
  session.bindResponse(reply.raw)
  return sendFrames(reply, headers, format(session.events(), onFailure))
}

/** Sends already-formatted frames as a byte stream that Fastify pipes with backpressure. */
export function sendFrames(
  reply: FastifyReply,
  headers: Record<string, string>,
  frames: AsyncIterable<string>,
) {
  return reply.headers(headers).send(Readable.from(frames, { objectMode: false }))
}
