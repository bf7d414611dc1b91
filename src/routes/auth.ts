import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { NotConfiguredError } from '../errors.js'
import { streamTokenResponseSchema } from '../schemas/auth.js'
import { errorResponseSchema } from '../schemas/errors.js'

const authRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/auth/stream-token',
    {
      config: { scope: 'use' },
      schema: {
        summary: 'A short-lived token for EventSource',
        description:
          "A browser's `EventSource` cannot send an Authorization header: trade your key (any scope) for a " +
          'signed token and open `GET /stream?prompt=...&access_token=<token>`. The token expires after ' +
          '`expires_in` seconds, works on GET /stream only, and is masked in the server logs.',
        tags: ['auth'],
        response: {
          200: streamTokenResponseSchema.describe('The token'),
          404: errorResponseSchema.describe('No API keys are configured: stream routes need no token'),
        },
      },
    },
    async (request) => {
      const key = request.apiKey
      if (key === undefined || app.streamTokens === undefined) {
        throw new NotConfiguredError('no API keys are configured, so GET /stream needs no token')
      }
      const { token, expiresIn } = app.streamTokens.issue(key)
      return { token, expires_in: expiresIn }
    },
  )
}

export default authRoutes
