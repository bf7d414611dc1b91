import type { LoggerOptions } from 'pino'
import type { Config } from './config.js'

/** Paths whose values pino replaces: credentials never reach a log line. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.OPENAI_API_KEY',
]

/** pino JSON logs, one line per event, with the request id Fastify adds as `reqId`. */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): LoggerOptions {
  return { level: config.LOG_LEVEL, redact: { paths: REDACTED_PATHS, censor: '[Redacted]' } }
}
