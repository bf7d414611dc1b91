import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { type ClientLimits, clientErrorHandler, frameworkErrorHandler } from './client-errors.js'

/**
 * The longest document id src/schemas/documents.ts accepts. Not imported from there: importing a schema
 * module here would register the schemas in another order and reorder openapi.json. A test of
 * test/plugins/client-errors.test.ts fails when the two part.
 */
const LONGEST_DOCUMENT_ID = 256

/**
 * Fastify's `maxParamLength` (100 by default): room for the longest document id, as sent in a URL. A
 * UTF-16 code unit is at most 3 bytes of UTF-8 and each byte at most 3 characters percent-encoded
 * (`%E2%82%AC`), so no id the schema accepts is refused here, and an id this refuses would fail the
 * schema anyway.
 */
export const MAX_PARAM_LENGTH = LONGEST_DOCUMENT_ID * 9

/**
 * Fastify's options that bound what clients can hold: a client gets HEADERS_TIMEOUT_MS for its headers
 * and REQUEST_TIMEOUT_MS for the whole request (then 408, written by client-errors.ts), an idle
 * keep-alive connection lasts KEEP_ALIVE_TIMEOUT_MS. None of them bounds the answer: a /chat may wait
 * UPSTREAM_TIMEOUT_MS for the upstream with no byte flowing, and a stream lives up to
 * STREAM_TOTAL_TIMEOUT_MS. Fastify's socket inactivity timeout (`connectionTimeout`) stays off for that
 * reason: it cannot tell a slow client from a slow upstream.
 */
export function serverLimitOptions(config: Config) {
  const limits: ClientLimits = {
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxParamLength: MAX_PARAM_LENGTH,
  }
  return {
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // Node checks both timeouts every 30 s by default, so a 10 s limit could last 40 s: check every second
    // (or a tenth of the headers timeout, when shorter). The check walks only connections mid-request.
    // Node refuses a headers timeout over the request timeout when both reach its constructor.
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.HEADERS_TIMEOUT_MS / 10)),
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: clientErrorHandler(limits),
    frameworkErrors: frameworkErrorHandler(limits),
  }
}

/** How often, at most, a refused connection is logged: a flood of them must not become a flood of logs. */
const REFUSED_LOG_INTERVAL_MS = 10_000

/**
 * Caps open connections at MAX_CONNECTIONS (0: no cap): Node closes any connection beyond it as soon as
 * it is accepted, before a byte is read, so the connections already open keep being served and the
 * process keeps file descriptors for its upstreams and stores.
 */
export function capConnections(app: FastifyInstance, maxConnections: number): void {
  if (maxConnections === 0) return
  app.server.maxConnections = maxConnections
  let refused = 0
  let summary: NodeJS.Timeout | undefined
  const logRefused = () => {
    app.log.warn({ refused, maxConnections }, 'MAX_CONNECTIONS reached: new connections were refused')
    refused = 0
    summary = undefined
  }
  app.server.on('drop', () => {
    refused++
    summary ??= setTimeout(logRefused, REFUSED_LOG_INTERVAL_MS).unref()
    if (refused === 1) app.log.warn({ maxConnections }, 'MAX_CONNECTIONS reached: refusing new connections')
  })
  app.addHook('onClose', async () => clearTimeout(summary))
}
