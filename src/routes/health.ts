import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      logLevel: 'warn', // load balancers poll this; keep it out of the info log
      config: { scope: 'open' },
      schema: {
        summary: 'Liveness: the process is up and serving HTTP',
        tags: ['operations'],
        response: {
          200: z.object({ status: z.literal('ok') }).meta({ id: 'Health', description: 'The server is up' }),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
}

export default healthRoutes
