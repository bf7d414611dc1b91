import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { errorResponseSchema } from '../schemas/errors.js'

export interface MetricsRouteOptions {
  /** METRICS_TOKEN: when set, scrapers send `Authorization: Bearer <token>`. */
  token?: string
}

/** Digests are equal in length whatever was sent, so the comparison takes the same time for any guess. */
const digest = (text: string) => createHash('sha256').update(text).digest()

const metricsRoutes: FastifyPluginAsyncZod<MetricsRouteOptions> = async (app, { token }) => {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`)

  app.get(
    '/metrics',
    {
      logLevel: 'warn', // Prometheus scrapes this every few seconds; keep it out of the info log
      schema: {
        summary: 'Metrics in the Prometheus text format',
        description:
          'Requests, upstream calls, streams, tokens, rate-limit rejections and document operations ' +
          '(README "Metrics and readiness"). With METRICS_TOKEN set, send `Authorization: Bearer <token>`.',
        tags: ['operations'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: z.string() } },
          },
          401: errorResponseSchema.describe('METRICS_TOKEN is set and the request did not carry it'),
        },
      },
      onRequest: async (request, reply) => {
        if (expected === undefined) return
        const given = digest(request.headers.authorization ?? '')
        if (timingSafeEqual(given, expected)) return
        return reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' })
      },
    },
    async (_request, reply) => {
      reply.type(app.metrics.contentType)
      return app.metrics.exposition()
    },
  )
}

export default metricsRoutes
