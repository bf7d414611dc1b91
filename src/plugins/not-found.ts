import type { FastifyInstance, FastifyRequest } from 'fastify'

/**
 * Answers requests no route takes as FastAPI does: a path no route has is 404 `{"detail": "Not Found"}`;
 * a path some route has, asked with another method, is 405 `{"detail": "Method Not Allowed"}` with an
 * `Allow` header listing the methods that path takes (RFC 9110 §15.5.6). Register before the routes: it
 * learns the methods in use as they are added.
 */
export function registerNotFound(app: FastifyInstance) {
  const methodsInUse = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) methodsInUse.add(method)
  })

  /** The methods some route takes at the request's path, in a stable order. */
  const allowedMethods = (request: FastifyRequest) =>
    [...methodsInUse].filter((method) => app.findRoute({ method, url: request.url }) !== null).sort()

  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request)
    if (allowed.length === 0) return reply.code(404).send({ detail: 'Not Found' })
    return reply.code(405).header('allow', allowed.join(', ')).send({ detail: 'Method Not Allowed' })
  })
}
