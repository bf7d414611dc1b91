import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CrossSiteRequestRefusedError } from '../errors.js'
import { requiredScope } from './route-access.js'

/**
 * Without API keys, any web page a user opens could make the browser spend the server's AI key: a
 * body-less `POST /safe?prompt=` or `GET /stream?prompt=` needs no preflight. So a request to a route
 * that needs a key when keys are on (`use`, `admin`) is refused when the browser says another site sent
 * it, unless CORS_ORIGINS lists that site's origin:
 * - `Sec-Fetch-Site: cross-site` or `same-site` (a sibling subdomain is another site's page too), or
 * - an `Origin` that is neither this server's own (its Host) nor listed.
 * curl and server-side clients send neither header and are unaffected. Only installed when keys are
 * off: with keys on, a cross-site request needs the key like any other.
 */
export function registerCrossSiteGuard(app: FastifyInstance, allowedOrigins: string[]) {
  const anyOrigin = allowedOrigins.includes('*')
  const allowed = new Set(allowedOrigins)
  app.addHook('onRequest', (request, _reply, done) => {
    const site = request.headers['sec-fetch-site']
    const origin = request.headers.origin
    // The fast path: what no browser omits, every other client does.
    if (site === undefined && origin === undefined) return done()
    if (request.is404 || requiredScope(request.routeOptions.config, true) === 'open') return done()
    if (origin !== undefined && (anyOrigin || allowed.has(origin))) return done()
    if (site === 'cross-site' || site === 'same-site') {
      return done(
        new CrossSiteRequestRefusedError(
          `another site's page sent it (Sec-Fetch-Site: ${site}) and CORS_ORIGINS does not list its origin`,
        ),
      )
    }
    if (origin !== undefined && !isOwnOrigin(origin, request)) {
      return done(
        new CrossSiteRequestRefusedError('its Origin is not this server and CORS_ORIGINS does not list it'),
      )
    }
    done()
  })
}

/** Whether `origin` names the host the request was sent to (`Origin: null` never does). */
function isOwnOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    const url = new URL(origin)
    // Through URL both ways, so a default port written in one (`Host: example.com:443`) matches.
    return url.host === new URL(`${url.protocol}//${request.host}`).host
  } catch {
    return false
  }
}
