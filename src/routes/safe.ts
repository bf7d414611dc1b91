import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { providerErrorResponses } from '../schemas/errors.js'
import { promptBodySchema, promptQuerySchema, promptResponseSchema } from '../schemas/prompt.js'
import { callOptions } from './call-options.js'
import { asMessages, promptFrom, promptInputs } from './prompt-input.js'

const safeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/safe',
    {
      config: { scope: 'use', generates: true, moderatedInput: promptInputs },
      schema: {
        summary: 'Answer a prompt under the retry policy',
        description:
          'Give `prompt` (and optionally `model`) as query parameters, as in the chapter, or as a JSON body. ' +
          'Retryable failures (408, 409, 429, 5xx, network errors, timeouts) are retried with exponential ' +
          'backoff honouring Retry-After; when every attempt fails the answer is 503 "AI service unavailable".',
        tags: ['chat'],
        querystring: promptQuerySchema,
        body: promptBodySchema,
        response: {
          200: promptResponseSchema.describe('The answer'),
          ...providerErrorResponses,
          503: providerErrorResponses[503].describe(
            'Every attempt failed (`AI service unavailable`), or the provider is not configured',
          ),
        },
      },
    },
    async (request) => {
      const { prompt, model } = promptFrom(request, request.query, request.body, app.config.DEFAULT_MODEL)
      const generateRequest = { messages: asMessages(prompt), model }
      const result = await app.chat.answerWithRetry('openai', generateRequest, callOptions(request))
      return { response: result.text }
    },
  )
}

export default safeRoutes
