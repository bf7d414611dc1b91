import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { chatRequestSchema, chatResponseSchema } from '../schemas/chat.js'
import { providerErrorResponses } from '../schemas/errors.js'
import { allowedModel } from './allowed-models.js'
import { callOptions } from './call-options.js'
import { messageInputs } from './prompt-input.js'

const chatRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/chat',
    {
      config: { scope: 'use', generates: true, moderatedInput: messageInputs },
      schema: {
        summary: 'Answer a conversation (OpenAI Responses API)',
        description: 'Sends the message list to the provider once and returns the whole answer.',
        tags: ['chat'],
        body: chatRequestSchema,
        response: { 200: chatResponseSchema.describe('The whole answer'), ...providerErrorResponses },
      },
    },
    async (request) => {
      const { messages, model, temperature } = request.body
      const allowed = allowedModel(request, model ?? app.config.DEFAULT_MODEL, ['body', 'model'])
      const generateRequest = { messages, model: allowed, temperature }
      return app.chat.answer('openai', generateRequest, callOptions(request))
    },
  )
}

export default chatRoutes
