import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { markAnswered } from './client-errors.js'

/** How much of an oversized body is read and thrown away so that its sender can read the 413. */
export const OVERSIZED_BODY_DISCARD_BYTES = 64 * 1024 * 1024

/**
 * Answers a body over the route's limit with 413 `{"detail"}` at once, and keeps reading the rest of the
 * body into the void. Fastify would close the connection after the answer with the body still arriving:
 * a client that sends its whole body before reading (httpx, Python's requests) then meets a reset
 * (EPIPE) instead of the 413. Discarding keeps the connection in step, so it stays open for the next
 * request. The discarding is bounded: by OVERSIZED_BODY_DISCARD_BYTES (a body declared larger is
 * answered and the connection closed at once; one that turns out larger is cut), and in time by
 * REQUEST_TIMEOUT_MS, after which the connection is closed without a second answer.
 */
export function sendBodyTooLarge(request: FastifyRequest, reply: FastifyReply) {
  const limit = request.routeOptions.bodyLimit
  const declared = Number(request.headers['content-length'])
  if (!(declared > limit + OVERSIZED_BODY_DISCARD_BYTES)) {
    // Fastify asked to close the connection after this answer; discarding makes that unnecessary.
    reply.removeHeader('connection')
    discardRest(request.raw)
  }
  return reply.code(413).send({ detail: `Request body is larger than the limit of ${limit} bytes` })
}

function discardRest(request: IncomingMessage): void {
  if (request.complete) return
  markAnswered(request)
  let discarded = 0
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > OVERSIZED_BODY_DISCARD_BYTES) request.socket.destroy()
  })
  request.resume()
}
