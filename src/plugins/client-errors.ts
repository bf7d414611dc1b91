import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** The bounds a client can run into before its request reaches a route; the answers name them. */
export interface ClientLimits {
  /** How long the request headers may take to arrive. */
  headersTimeoutMs: number
  /** How long the whole request, body included, may take to arrive. */
  requestTimeoutMs: number
  /** The longest path parameter, in characters as sent (percent-encoded). */
  maxParamLength: number
}

/** A parse error of Node's, as Fastify passes it to `clientErrorHandler`. */
interface ClientError extends Error {
  code?: string
  /** llhttp's fixed description of what is wrong, e.g. "Invalid method encountered". */
  reason?: unknown
}

/** Sockets whose request was already answered while its body is still arriving (an oversized body). */
const answered = new WeakSet<Socket>()

/**
 * Marks `request`'s socket as answered until the request has arrived or gone: a timeout meanwhile closes
 * the connection without writing a second answer after the first.
 */
export function markAnswered(request: IncomingMessage): void {
  const socket = request.socket
  const forget = () => answered.delete(socket)
  answered.add(socket)
  request.once('end', forget).once('close', forget)
}

/**
 * Fastify's `clientErrorHandler`: errors Node raises before a request exists (a timeout while receiving
 * it, headers over Node's limit, bytes that are not HTTP) are answered in FastAPI's envelope, as a whole
 * HTTP/1.1 response written to the socket, and the connection is closed.
 */
export function clientErrorHandler(limits: ClientLimits) {
  return function onClientError(this: FastifyInstance, error: ClientError, socket: Socket): void {
    // A reset socket cannot be answered; nor can one whose response has begun (its bytes would corrupt it).
    const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent || answered.has(socket)) {
      socket.destroy()
      return
    }
    const [status, detail] = answerFor(error, limits)
    this.log.info(
      { code: error.code, statusCode: status, remoteAddress: socket.remoteAddress },
      'client error',
    )
    const body = JSON.stringify({ detail })
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
    socket.destroy()
  }
}

function answerFor(error: ClientError, limits: ClientLimits): [number, string] {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [
      408,
      `Request Timeout: the headers must arrive within ${limits.headersTimeoutMs} ms and the whole request ` +
        `within ${limits.requestTimeoutMs} ms`,
    ]
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return [
      431,
      `Request Header Fields Too Large: the request line and headers must fit in ${maxHeaderSize} bytes`,
    ]
  }
  // llhttp's reasons are fixed texts of its own, never bytes of the request.
  const reason = typeof error.reason === 'string' ? `: ${error.reason}` : ''
  return [400, `Bad Request: the request is not valid HTTP/1.1${reason}`]
}

/**
 * Fastify's `frameworkErrors`: the router's own failures before a route is chosen, in FastAPI's envelope
 * instead of Fastify's shape.
 */
export function frameworkErrorHandler(limits: ClientLimits) {
  return function onFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    if (error.code === 'FST_ERR_BAD_URL') {
      request.log.info({ code: error.code }, 'bad URL')
      reply.code(400).send({ detail: 'Bad Request: the URL path is not valid percent-encoded UTF-8' })
      return
    }
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      request.log.info({ code: error.code }, 'path parameter too long')
      reply.code(414).send({
        detail: `URI Too Long: a path parameter may have at most ${limits.maxParamLength} characters`,
      })
      return
    }
    request.log.error({ err: error }, 'router error')
    reply.code(500).send({ detail: 'Internal Server Error' })
  }
}
