import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError, type RequestIssue, RequestValidationError } from '../errors.js'
import { sendBodyTooLarge } from './oversized-body.js'

/** Where Fastify says a validation error came from: FastAPI's name for it, and where the input is. */
const LOCATION: Record<string, { name: string; input: (request: FastifyRequest) => unknown }> = {
  body: { name: 'body', input: (request) => request.body },
  querystring: { name: 'query', input: (request) => request.query },
  params: { name: 'path', input: (request) => request.params },
  headers: { name: 'header', input: (request) => request.headers },
}

/**
 * The one error handler: every failure leaves as FastAPI's envelope. Invalid input is a 422 with
 * `{"detail": [{loc, msg, type}]}`; anything else is `{"detail": "..."}`; a 5xx never carries internal
 * or upstream text (the log does).
 */
export function registerErrorHandler(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const location = LOCATION[error.validationContext ?? 'body'] ?? LOCATION.body
      const input = location?.input(request)
      const issues = error.validation.map((issue) => toRequestIssue(location?.name ?? 'body', input, issue))
      return sendValidationError(request, reply, issues)
    }
    if (error instanceof RequestValidationError) return sendValidationError(request, reply, error.issues)
    if (error instanceof AppError) return sendAppError(request, reply, error)

    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendValidationError(request, reply, [
          { loc: ['body'], msg: `JSON decode error: ${error.message}`, type: 'json_invalid' },
        ])
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendValidationError(request, reply, [
          {
            loc: ['body'],
            msg: `Unsupported Content-Type: ${request.headers['content-type']}; send application/json`,
            type: 'content_type',
          },
        ])
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendBodyTooLarge(request, reply)
    }

    const statusCode = error.statusCode ?? 500
    if (statusCode < 500) {
      request.log.info({ err: error }, 'client error')
      return reply.code(statusCode).send({ detail: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send({ detail: 'Internal Server Error' })
  })
}

function sendValidationError(request: FastifyRequest, reply: FastifyReply, issues: RequestIssue[]) {
  request.log.info({ issues }, 'invalid request')
  return reply.code(422).send({ detail: issues })
}

function sendAppError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  const logged = { code: error.code, statusCode: error.statusCode, detail: error.logDetail }
  if (error.statusCode >= 500) request.log.error(logged, error.message)
  else request.log.info(logged, error.message)
  // Retry-After means something to a client only on 429 and 503 (RFC 9110 §10.2.3).
  const canRetryLater = error.statusCode === 429 || error.statusCode === 503
  if (canRetryLater && error.retryAfterMs !== undefined) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))))
  }
  return reply.code(error.statusCode).send({ detail: error.message })
}

interface ValidationIssue {
  keyword: string
  instancePath: string
  message?: string
}

function toRequestIssue(location: string, input: unknown, issue: ValidationIssue): RequestIssue {
  const path = issue.instancePath
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment))
  // Zod reports an absent field as a wrong type or value; FastAPI clients look for type "missing".
  if (path.length > 0 && valueAt(input, path) === undefined) {
    return { loc: [location, ...path], msg: 'Field required', type: 'missing' }
  }
  return { loc: [location, ...path], msg: issue.message ?? 'Invalid value', type: issue.keyword }
}

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let value = input
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string | number, unknown>)[key]
  }
  return value
}
