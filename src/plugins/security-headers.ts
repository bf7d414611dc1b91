import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * The API answers JSON and streams, never pages, so its CSP allows nothing; Swagger UI at /docs replaces
 * it with its own (plugins/openapi.ts). No `upgrade-insecure-requests`: on a server reached over plain
 * HTTP (a LAN, a container) it would send the browser to an HTTPS port nobody listens on.
 */
const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
}

/** The headers helmet's middleware sets with `options`: it sets the same ones on every response. */
export function helmetHeaders(options: HelmetOptions = HELMET_OPTIONS): [string, string][] {
  const headers: [string, string][] = []
  const response = {
    setHeader: (name: string, value: string | number) => headers.push([name.toLowerCase(), String(value)]),
    removeHeader: () => {},
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {})
  return headers
}

/**
 * Helmet's headers that only a document uses (an HTML page: Swagger UI at /docs): cross-origin
 * isolation, agent clusters and DNS prefetching concern pages, the other three only browsers long gone
 * (IE8's downloads, Flash and Acrobat's cross-domain policies, the XSS auditor). JSON and streams go
 * without them: 6 of helmet's 12 headers, 246 of its 453 bytes, on every answer; with all 12, /chat
 * cost ~6 % more CPU than without any (BENCHMARKS.md, "Access control").
 */
export const DOCUMENT_ONLY_HEADERS = new Set([
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
])

/**
 * Helmet's security headers on every reply, streams included (a reply decoration: stream-body.ts applies
 * them too): all of them on the docs' routes, those that concern any answer on the API's. Not
 * @fastify/helmet: it builds helmet's middleware again for every request, which took a cheap request
 * from 66 to 114 µs of CPU over real sockets (1.70x; wrk c=32, GET /documents on an empty store, 8
 * alternating rounds in one process). The headers never vary, so helmet computes them once here. A
 * header a route set itself (Swagger UI's CSP) is kept.
 */
export function registerSecurityHeaders(app: FastifyInstance) {
  const documentHeaders = helmetHeaders()
  const apiHeaders = documentHeaders.filter(([name]) => !DOCUMENT_ONLY_HEADERS.has(name))
  app.replyDecorations.add((reply: FastifyReply) => {
    const headers = reply.request.routeOptions.config?.scope === 'docs' ? documentHeaders : apiHeaders
    for (const [name, value] of headers) if (!reply.hasHeader(name)) reply.header(name, value)
  })
}

/** Swagger UI's own CSP (what @fastify/swagger-ui sends with `staticCSP`), for plain HTTP as above. */
export function withoutUpgradeInsecureRequests(policy: string | string[] | number): string {
  return String(policy).replace(/\s*upgrade-insecure-requests;?/, '')
}
