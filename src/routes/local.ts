import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { providerErrorResponses } from '../schemas/errors.js'
import { promptBodySchema, promptQuerySchema, promptResponseSchema } from '../schemas/prompt.js'
import { ndjson } from '../streaming/ndjson.js'
import { sendStream } from '../streaming/stream-body.js'
import { callOptions, streamCallOptions } from './call-options.js'
import { asMessages, promptFrom, promptInputs } from './prompt-input.js'

const INPUT_DESCRIPTION =
  'Give `model` and `prompt` as query parameters, as in the chapter, or as a JSON body; `model` defaults to ' +
  'OLLAMA_DEFAULT_MODEL.'

const localErrorResponses = {
  ...providerErrorResponses,
  502: providerErrorResponses[502].describe('Ollama failed or could not be reached'),
}

const localRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/local-chat',
    {
      config: { scope: 'use', generates: true, moderatedInput: promptInputs },
      schema: {
        summary: 'Answer a prompt with a local model (Ollama)',
        description: INPUT_DESCRIPTION,
        tags: ['local'],
        querystring: promptQuerySchema,
        body: promptBodySchema,
        response: { 200: promptResponseSchema.describe('The whole answer'), ...localErrorResponses },
      },
    },
    async (request) => {
      const { prompt, model } = promptFrom(
        request,
        request.query,
        request.body,
        app.config.OLLAMA_DEFAULT_MODEL,
      )
      const result = await app.chat.answer(
        'ollama',
        { messages: asMessages(prompt), model },
        callOptions(request),
      )
      return { response: result.text }
    },
  )

  app.post(
    '/local-stream',
    {
      config: { scope: 'use', generates: true, moderatedInput: promptInputs, opensStream: true },
      schema: {
        summary: "Stream a local model's answer as Ollama's NDJSON lines",
        description:
          `${INPUT_DESCRIPTION} The body is Ollama's /api/generate stream, one JSON object per line, each ending ` +
          'in `\\n`; the last has `"done": true`. A failure after the first line ends the stream with ' +
          '`{"error":"<message>"}` (`{"error":"content_filtered"}` when the moderation policy withholds the ' +
          'rest); failures before it are ordinary HTTP errors.',
        tags: ['local'],
        querystring: promptQuerySchema,
        body: promptBodySchema,
        response: {
          200: {
            description: 'Newline-delimited JSON, relayed as Ollama produces it',
            content: {
              'application/x-ndjson': {
                schema: z.string().meta({
                  example:
                    '{"model":"llama3.2","created_at":"2026-11-26T12:00:00Z","response":"Hi","done":false}\n' +
                    '{"model":"llama3.2","created_at":"2026-11-26T12:00:01Z","response":"","done":true,"done_reason":"stop"}\n',
                }),
              },
            },
          },
          ...localErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const { prompt, model } = promptFrom(
        request,
        request.query,
        request.body,
        app.config.OLLAMA_DEFAULT_MODEL,
      )
      const stream = await app.chat.stream(
        'ollama',
        { messages: asMessages(prompt), model },
        streamCallOptions(request),
      )
      return sendStream(reply, stream, ndjson())
    },
  )
}

export default localRoutes
