import type { FastifyRequest } from 'fastify'
import type { LoggerOptions } from 'pino'
import type { Config } from './config.js'

/** Paths whose values pino replaces: credentials never reach a log line. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
]

/** Query parameters that carry user text: kept out of logs like any other prompt. */
const PRIVATE_QUERY_PARAMETERS = /([?&](?:prompt|query)=)[^&]*/g

/** pino JSON logs, one line per event, with the request id Fastify adds as `reqId`. */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
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
