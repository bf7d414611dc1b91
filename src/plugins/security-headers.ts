import fastifyHelmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * Helmet's security headers on every reply. The API answers JSON and streams, never pages, so its CSP
 * allows nothing; Swagger UI at /docs replaces it with its own (plugins/openapi.ts). No
 * `upgrade-insecure-requests`: on a server reached over plain HTTP (a LAN, a container) it would send
 * the browser to an HTTPS port nobody listens on. Helmet writes the headers to the raw response in
 * `onRequest`, so streams, which write their own head (streaming/stream-body.ts), carry them too.
 */
export async function registerSecurityHeaders(app: FastifyInstance) {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  })
}

/** Swagger UI's own CSP (what @fastify/swagger-ui sends with `staticCSP`), for plain HTTP as above. */
export function withoutUpgradeInsecureRequests(policy: string | string[] | number): string {
  return String(policy).replace(/\s*upgrade-insecure-requests;?/, '')
}
