import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

const checks = z
  .record(z.string(), z.string())
  .describe('Each check by name: "ok", or why it failed')
  .meta({ example: { config: 'ok', documents: 'ok' } })

const readyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/ready',
    {
      logLevel: 'warn', // load balancers poll this; keep it out of the info log
      schema: {
        summary: 'Readiness: the server can answer (configuration, document store, and later Redis)',
        description:
          'Runs every readiness check, each bounded by READINESS_TIMEOUT_MS. 503 while a check fails and ' +
          'while the server is shutting down, so a load balancer drains it. `/health` is liveness only.',
        tags: ['operations'],
        response: {
          200: z
            .object({ status: z.literal('ready'), checks })
            .meta({ id: 'Ready', description: 'Every check passed' }),
          503: z.object({ detail: z.string(), checks: checks.optional() }).meta({
            id: 'NotReady',
            description: '`not ready: <check>: <reason>`, or the server is shutting down (no checks)',
          }),
        },
      },
    },
    async (_request, reply) => {
      const report = await app.readiness.run()
      if (report.ready) return { status: 'ready' as const, checks: report.checks }
      return reply.code(503).send({ detail: `not ready: ${report.failure}`, checks: report.checks })
    },
  )
}

export default readyRoutes
