import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { providerErrorResponses } from '../schemas/errors.js'
import { promptBodySchema, promptQuerySchema } from '../schemas/prompt.js'
import { sse } from '../streaming/sse.js'
import { sendStream } from '../streaming/stream-body.js'
import { streamCallOptions } from './call-options.js'
import { asMessages, promptFrom, promptInputs } from './prompt-input.js'

const SSE_DESCRIPTION =
  'Server-sent events, compact JSON as shown. One `data: {"content":"<delta>"}` frame per text delta, then `data: {"done":true}` ' +
  '(with `"reason"` when the answer was cut short, e.g. `max_output_tokens`). A failure after the stream ' +
  'began ends it with `data: {"error":"stream_error","detail":"<message>"}`, or `{"error":"content_filtered"}` ' +
  'when the moderation policy withholds the rest of the answer. Every data frame has an ' +
  '`id:`; comments (`: ping`) are heartbeats: a hand-written reader parses `data:` lines and skips the ' +
  'rest (`id:`, `retry:`, comments). Failures before the first event are ordinary HTTP errors.'

const sseResponse = {
  description: SSE_DESCRIPTION,
  content: {
    'text/event-stream': {
      schema: z.string().meta({ example: 'id: 1\ndata: {"content":"Hi"}\n\nid: 2\ndata: {"done":true}\n\n' }),
    },
  },
}

const streamRoutes: FastifyPluginAsyncZod = async (app) => {
  const schema = {
    tags: ['chat'],
    querystring: promptQuerySchema,
    response: { 200: sseResponse, ...providerErrorResponses },
  }

  app.post(
    '/stream',
    {
      config: { scope: 'use', generates: true, moderatedInput: promptInputs },
      schema: {
        ...schema,
        summary: 'Stream an answer as server-sent events',
        description: `Body \`{prompt, model?}\` (or the same as query parameters). ${SSE_DESCRIPTION}`,
        body: promptBodySchema,
      },
    },
    async (request, reply) => {
      const { prompt, model } = promptFrom(request, request.query, request.body, app.config.DEFAULT_MODEL)
      const stream = await app.chat.stream(
        'openai',
        { messages: asMessages(prompt), model },
        streamCallOptions(request),
      )
      return sendStream(reply, stream, sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS }))
    },
  )

  app.get(
    '/stream',
    {
      // EventSource cannot send a key: a token from POST /auth/stream-token as `?access_token=`.
      config: { scope: 'use', streamToken: true, generates: true, moderatedInput: promptInputs },
      schema: {
        ...schema,
        summary: 'Stream an answer as server-sent events, for EventSource',
        description: `For a browser's native \`EventSource\`: close it on the \`done\` frame, or it reconnects and asks again. ${SSE_DESCRIPTION}`,
      },
    },
    async (request, reply) => {
      const { prompt, model } = promptFrom(request, request.query, undefined, app.config.DEFAULT_MODEL)
      const stream = await app.chat.stream(
        'openai',
        { messages: asMessages(prompt), model },
        streamCallOptions(request),
      )
      return sendStream(reply, stream, sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS }))
    },
  )
}

export default streamRoutes
