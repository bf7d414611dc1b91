import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import type { LoggerOptions } from 'pino'
import type { Config } from '../config.js'
import { secretMask } from '../redaction.js'
import { secretsOf } from './redaction.js'

/** Paths whose values pino replaces: credentials never reach a log line. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
]

/**
 * Query parameters kept out of logs: user text (like any other prompt), and stream tokens (a credential,
 * if a short-lived one).
 */
const PRIVATE_QUERY_PARAMETERS = /([?&](?:prompt|query|access_token)=)[^&]*/g

/**
 * pino JSON logs, one line per event, with the request id Fastify adds as `reqId`. Every line is written
 * with the configured secrets masked, whatever logged them (the errors mask upstream text already; this
 * also covers what they cannot foresee, e.g. a library's error quoting a connection string).
 */
export function loggerOptions(config: Config): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    hooks: { streamWrite: secretMask(secretsOf(config)) },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url.replace(PRIVATE_QUERY_PARAMETERS, '$1[redacted]'),
        remoteAddress: request.ip,
      }),
    },
  }
}

/**
 * One access-log line per request, when it completes (method, URL, status, time), instead of Fastify's
 * two: the line that says a request arrived moves to `debug`. Halves the logging cost of every call.
 * A request that called a model also has `usage` (the tokens the upstream reported: input, output,
 * reasoning) and, with the response cache on, `cache` (hit, miss, bypass); pino leaves out what is undefined.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest) {
    if (this.isLogDisabled(request)) return
    request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    if (this.isLogDisabled(request)) return
    const ledger = request.ledger
    const fields = {
      req: request,
      res: reply,
      responseTime: reply.elapsedTime,
      usage: ledger?.usage,
      cache: ledger?.cache,
    }
    if (error) reply.log.error({ ...fields, err: error }, 'request errored')
    else reply.log.info(fields, 'request completed')
  }
}
