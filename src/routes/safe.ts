import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { RequestValidationError } from '../errors.js'
import { callOptions } from '../request-context.js'
import { providerErrorResponses } from '../schemas/errors.js'
import { safeBodySchema, safeQuerySchema, safeResponseSchema } from '../schemas/safe.js'

const safeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/safe',
    {
      schema: {
        summary: 'Answer a prompt under the retry policy',
        description:
          'Give `prompt` (and optionally `model`) as query parameters, as in the chapter, or as a JSON body. ' +
          'Retryable failures (408, 409, 429, 5xx, network errors, timeouts) are retried with exponential ' +
          'backoff honouring Retry-After; when every attempt fails the answer is 503 "AI service unavailable".',
        tags: ['chat'],
        querystring: safeQuerySchema,
        body: safeBodySchema,
        response: {
          200: safeResponseSchema.describe('The answer'),
          ...providerErrorResponses,
          503: providerErrorResponses[503].describe(
            'Every attempt failed (`AI service unavailable`), or the provider is not configured',
          ),
        },
      },
    },
    async (request) => {
      const { prompt, model } = promptFrom(request.query, request.body)
      const generateRequest = {
        messages: [{ role: 'user' as const, content: prompt }],
        model: model ?? app.config.DEFAULT_MODEL,
      }
      const options = callOptions(request)
      const result = await app.retry(() => app.openai.generate(generateRequest, options), options.signal)
      return { response: result.text }
    },
  )
}

interface PromptInput {
  prompt?: string
  model?: string
}

/** The prompt may come from the query (the chapter's contract) or the body, but from exactly one. */
function promptFrom(
  query: PromptInput,
  body: PromptInput | null | undefined,
): PromptInput & { prompt: string } {
  if (body && query.prompt !== undefined) {
    throw new RequestValidationError([
      {
        loc: ['query', 'prompt'],
        msg: 'Give prompt in the query or in the body, not both',
        type: 'conflict',
      },
    ])
  }
  const source = body ?? query
  if (source.prompt === undefined) {
    throw new RequestValidationError([{ loc: ['query', 'prompt'], msg: 'Field required', type: 'missing' }])
  }
  return { prompt: source.prompt, model: source.model ?? query.model }
}

export default safeRoutes
