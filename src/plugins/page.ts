import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

/** public/ at the repository's root: two levels up from src/plugins/ and from dist/plugins/ alike. */
export const PAGE_ROOT = fileURLToPath(new URL('../../public/', import.meta.url))

/**
 * The page's own CSP, in place of the API's `default-src 'none'`: its scripts, styles and requests go to
 * this server only (no inline code, no other origin). No `upgrade-insecure-requests`, for the reason
 * security-headers.ts gives.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The chat page at `/` (public/: index.html and its ES modules, no build step), the example front end
 * the README points to. app.ts gives its routes the docs' scope (open while AUTH_OPEN_DOCS is): a
 * browser that opens a page sends no key. `wildcard: false` registers one route per file found at start
 * instead of `GET /*`, so every other path still reaches the API's 404 and the route list names each file.
 */
export async function registerPage(app: FastifyInstance) {
  await app.register(fastifyStatic, {
    root: PAGE_ROOT,
    prefix: '/',
    wildcard: false,
    // The CSP set here is kept: the security headers only fill in what a reply lacks.
    setHeaders: (reply) => {
      reply.header('content-security-policy', PAGE_CSP)
    },
  })
}
