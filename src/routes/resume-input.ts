import type { FastifyReply, FastifyRequest } from 'fastify'
import { RequestValidationError } from '../errors.js'
import { LAST_EVENT_ID } from '../schemas/resume.js'
import { sse } from '../streaming/sse.js'
import { sendFollower } from '../streaming/stream-body.js'

/** Where a request asks a stream to resume: the frame it had last (-1: none, from the top). */
export interface ResumePosition {
  streamId: string
  seq: number
}

/**
 * The position a request carrying a Last-Event-ID (the header EventSource sends on reconnecting, or
 * `?last_event_id=`) resumes from; undefined when it carries none, or when resumption is off (the
 * header is then ignored, as before). A malformed id is a 422: never a new generation.
 */
export function resumePosition(request: FastifyRequest): ResumePosition | undefined {
  if (!request.server.streams.resumption) return undefined
  const header = request.headers['last-event-id']
  const query = (request.query as { last_event_id?: string } | undefined)?.last_event_id
  const text = typeof header === 'string' ? header : query
  if (text === undefined) return undefined
  const match = LAST_EVENT_ID.exec(text.trim())
  if (match === null) {
    throw invalidLastEventId(request, 'must be the id of a frame of a resumable stream: <stream id>:<seq>')
  }
  return { streamId: match[1] as string, seq: Number(match[2]) }
}

/**
 * Whether a request to a stream route starts a generation, rather than asking to resume one (by a
 * Last-Event-ID, or `?last_event_id=`, when resumption is on): read before validation, for the limits.
 */
export function startsStream(request: FastifyRequest): boolean {
  if (!request.server.streams.resumption) return true
  const query = request.query as { last_event_id?: unknown } | undefined
  return request.headers['last-event-id'] === undefined && query?.last_event_id === undefined
}

/** The 422 of a Last-Event-ID that cannot be used, located where the request gave it. */
export function invalidLastEventId(request: FastifyRequest, msg: string): RequestValidationError {
  const fromHeader = typeof request.headers['last-event-id'] === 'string'
  const loc = fromHeader ? ['header', 'last-event-id'] : ['query', 'last_event_id']
  return new RequestValidationError([{ loc, msg, type: 'value_error' }])
}

/**
 * Answers a request that follows a stream: its frames after `position`, then live ones until the end;
 * 204 when the client had the terminal frame already (EventSource then stops reconnecting); 410 when the
 * stream cannot be followed (StreamGoneError).
 */
export async function sendResumed(
  request: FastifyRequest,
  reply: FastifyReply,
  position: ResumePosition,
): Promise<void> {
  const { streams, config } = request.server
  const resumption = streams.resumption
  if (!resumption) throw new Error('sendResumed() with resumption off')
  const following = await resumption.find(position.streamId, position.seq, request.apiKey)
  if (following === undefined) return reply.code(204).send(null)
  const format = sse({ heartbeatMs: config.SSE_HEARTBEAT_MS, streamId: position.streamId })
  return sendFollower(reply, following, format)
}
