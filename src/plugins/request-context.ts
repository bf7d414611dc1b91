import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Cancellation, type CancelSignal } from '../cancellation.js'
import { ClientClosedRequestError } from '../errors.js'
import type { RequestLedger, UpstreamTiming } from '../providers/provider.js'
import type { InFlightRequests } from './in-flight-requests.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Cancelled when the client goes away before the response is complete. Not Fastify's
     * `request.signal`: on Node 20 that one listens on the request stream and fires as soon as the body
     * has been read.
     */
    clientSignal: CancelSignal
    /** Time this request spent waiting on upstreams, for the Server-Timing header. */
    timing: UpstreamTiming
    /** Tokens its upstream calls used and how the cache served it; undefined until a route calls a service. */
    ledger: RequestLedger | undefined
  }
}

// Accept a caller's id only when it is short and plain, so it cannot forge or flood log lines.
const ACCEPTABLE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

/** Fastify `genReqId`: the caller's `x-request-id` when acceptable, else a fresh UUID. */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * Gives every request a cancellation tied to its client, tracked in `inFlight` until its response has
 * closed (shutdown cancels those left), and echoes the request id.
 */
export function registerRequestContext(app: FastifyInstance, inFlight: InFlightRequests) {
  app.decorateRequest('clientSignal', undefined as unknown as CancelSignal)
  app.decorateRequest('timing', undefined as unknown as FastifyRequest['timing'])
  app.decorateRequest('ledger', undefined)
  app.addHook('onRequest', (request, reply, done) => {
    request.timing = { upstreamMs: 0 }
    reply.header('x-request-id', request.id)
    const cancellation = new Cancellation()
    request.clientSignal = cancellation.signal
    inFlight.add(cancellation)
    // The reply's socket closing (not the request's) is what says the client went away: the request
    // stream ends as soon as the body is read, long before a slow answer is written.
    reply.raw.once('close', () => {
      inFlight.delete(cancellation)
      if (!reply.raw.writableFinished) cancellation.cancel(new ClientClosedRequestError())
    })
    done()
  })
}

/**
 * `Server-Timing: upstream;dur=…, gateway;dur=…` (W3C Server Timing), a reply decoration: the time spent
 * waiting on AI providers and the rest, in milliseconds, up to when the headers leave. Browser devtools
 * and any client can read the gateway's overhead from it. For a stream, "upstream" is the wait for the
 * first event.
 */
export function serverTiming(reply: FastifyReply): void {
  const total = reply.elapsedTime
  const upstream = Math.min(reply.request.timing.upstreamMs, total)
  reply.header(
    'server-timing',
    `upstream;dur=${upstream.toFixed(2)}, gateway;dur=${(total - upstream).toFixed(2)}`,
  )
}
