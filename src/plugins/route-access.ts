import type { FastifyContextConfig, FastifyInstance, RouteOptions } from 'fastify'
import { errorResponseSchema } from '../schemas/errors.js'

/**
 * Who may call a route when API keys are configured, declared in its options (`config: { scope }`) so
 * a new route states it where it is written: `use` and `admin` need a key of that scope (admin covers
 * use), `open` needs none (/health), `docs` is open while AUTH_OPEN_DOCS is true, else needs any key.
 */
export type RouteScope = 'use' | 'admin' | 'open' | 'docs'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route when API keys are configured (plugins/route-access.ts). */
    scope?: RouteScope
    /** A GET stream route: also accepts a stream token as `?access_token=` (EventSource sends no headers). */
    streamToken?: boolean
  }
  interface FastifyInstance {
    /** Every route with the scope it declared (undefined: it declared none, and is treated as admin). */
    routeAccess(): { method: string; url: string; scope: RouteScope | undefined }[]
  }
}

/**
 * The key a request to a route needs: a route that declared nothing needs an admin key (fail closed; a
 * test walks the routes so none is left so).
 */
export function requiredScope(config: FastifyContextConfig, openDocs: boolean): 'use' | 'admin' | 'open' {
  const scope = config.scope ?? 'admin'
  if (scope === 'docs') return openDocs ? 'open' : 'use'
  return scope
}

const notAuthenticated = errorResponseSchema.describe(
  '`Not authenticated`: no API key, or an unknown one (with `WWW-Authenticate: Bearer`)',
)
const forbidden = errorResponseSchema.describe(
  "The API key's scope does not allow this request, or (without API keys) a cross-site browser request",
)

/** What registerRouteAccess gives the wiring. */
export interface RouteAccess {
  /**
   * Runs `register` (a third-party plugin: Swagger UI, CORS's preflight route) giving the routes it
   * adds, whose options are not ours to write, `scope` unless they declare one.
   */
  withDefaultScope(scope: RouteScope, register: () => PromiseLike<unknown>): Promise<void>
}

/**
 * Records every route's declared scope, and documents the protected ones in OpenAPI: the bearer scheme
 * (Swagger UI's Authorize button), a stream token where accepted, and their 401 and 403. Registered
 * before any route; it adds no per-request work.
 */
export function registerRouteAccess(app: FastifyInstance): RouteAccess {
  const routes: RouteOptions[] = []
  let defaultForNow: RouteScope | undefined
  app.decorate('routeAccess', () =>
    routes.map((route) => ({
      method: String(route.method),
      url: route.url,
      scope: route.config?.scope,
    })),
  )
  app.addHook('onRoute', (route) => {
    if (defaultForNow !== undefined && route.config?.scope === undefined) {
      route.config = { ...route.config, scope: defaultForNow }
    }
    routes.push(route)
    const scope = route.config?.scope
    if (scope !== 'use' && scope !== 'admin') return
    const security: Record<string, string[]>[] = [{ bearerAuth: [] }]
    if (route.config?.streamToken) security.push({ streamToken: [] })
    // A new schema object: routes share theirs (POST and GET /stream spread one).
    route.schema = {
      ...route.schema,
      security,
      response: { ...(route.schema?.response as object), 401: notAuthenticated, 403: forbidden },
    }
  })
  return {
    async withDefaultScope(scope, register) {
      defaultForNow = scope
      try {
        await register()
      } finally {
        defaultForNow = undefined
      }
    },
  }
}
