import type { FastifyInstance } from 'fastify'
import { ServerShuttingDownError } from '../errors.js'
import type { Resumption } from '../streaming/resumption.js'
import type { StreamRegistry } from '../streaming/stream-registry.js'
import type { InFlightRequests } from './in-flight-requests.js'

/**
 * Once the grace is over, how long the 503s and the streams' last frames get to leave before the
 * connections still busy are closed.
 */
export const SHUTDOWN_FLUSH_MS = 1_000

export interface GracefulShutdownOptions {
  /** The requests being answered (streams included). */
  inFlight: InFlightRequests
  /** The streams being relayed. */
  streams: StreamRegistry
  /** SHUTDOWN_GRACE_MS: how long requests in flight get to finish. */
  graceMs: number
  /** Resumable streams, when on: their followers are told to reconnect elsewhere (a shared log). */
  resumption?: Resumption
}

/**
 * What `app.close()` does before Fastify closes idle connections and stops listening:
 * 1. new requests are answered 503 (ServerShuttingDownError; Fastify adds `connection: close`);
 * 2. requests and streams in flight get SHUTDOWN_GRACE_MS to finish as usual; with resumable streams in
 *    a log other instances share (Redis), their clients are told at once to reconnect (`retry:`, then the
 *    response closes): they resume elsewhere while the generations go on here into the log;
 * 3. those left are cancelled with ServerShuttingDownError: their upstream calls and retry waits reject
 *    with it, so a whole answer becomes a 503 `{"detail"}` and a stream ends with a last frame saying so;
 * 4. SHUTDOWN_FLUSH_MS later, connections still busy (a client that does not read, a store write that
 *    cannot be cancelled) are closed, so the process can exit.
 */
export function registerGracefulShutdown(app: FastifyInstance, options: GracefulShutdownOptions) {
  const { inFlight, streams, graceMs, resumption } = options
  let closing = false
  app.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? new ServerShuttingDownError() : undefined)
  })

  app.addHook('preClose', async () => {
    closing = true
    resumption?.hangUpFollowers()
    if (inFlight.size === 0 && streams.size === 0) return
    const waiting = { inFlight: inFlight.size, streams: streams.size, graceMs }
    app.log.info(waiting, 'shutting down: waiting for the requests in flight')
    // A resumable stream outlives its requests: its generation gets the grace too.
    if (await settlesWithin(Promise.all([inFlight.idle(), streams.idle()]), graceMs)) return
    app.log.warn({ inFlight: inFlight.size }, 'shutdown grace over: answering the requests left with 503')
    inFlight.cancelAll(new ServerShuttingDownError())
    const answered = Promise.all([inFlight.idle(), streams.shutdown(SHUTDOWN_FLUSH_MS)])
    if (await settlesWithin(answered, SHUTDOWN_FLUSH_MS)) return
    app.log.warn({ inFlight: inFlight.size }, 'closing the connections whose answer could not be sent')
    app.server.closeAllConnections()
  })
}

/** Whether `promise` settles within `milliseconds`; the timer does not outlive the answer. */
async function settlesWithin(promise: Promise<unknown>, milliseconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, milliseconds, false)
  })
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
