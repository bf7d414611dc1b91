import fastifyCors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { RouteAccess } from './route-access.js'

/**
 * Response headers a browser page may read: the request id, timings, the cache, the rate-limit state, a
 * stream's id.
 */
const EXPOSED_HEADERS = [
  'x-request-id',
  'server-timing',
  'x-cache',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-stream-id',
]

/**
 * CORS for the origins in CORS_ORIGINS (none: no CORS at all, as before). Another origin gets no CORS
 * header, not even on its preflight (which then finds no route: 405, as
 * without CORS). Never credentials: keys travel in
 * the Authorization header, which needs no credentials mode, so `*` is safe. The headers are set on the
 * reply in `onRequest`, so streams (streaming/stream-body.ts writes the reply's headers) carry them too.
 */
export async function registerCors(app: FastifyInstance, routeAccess: RouteAccess, origins: string[]) {
  if (origins.length === 0) return
  const allowed = new Set(origins)
  await routeAccess.withDefaultScope('open', async () => {
    await app.register(fastifyCors, {
      origin: allowed.has('*')
        ? '*'
        : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      exposedHeaders: EXPOSED_HEADERS,
      credentials: false,
      // Browsers cache a preflight this long (Chromium caps it at 2 hours).
      maxAge: 600,
    })
  })
}
