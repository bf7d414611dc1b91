import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GenerateRequest } from '../providers/provider.js'
import { errorResponseSchema, providerErrorResponses } from '../schemas/errors.js'
import { ragBodySchema, ragQuerySchema, ragResponseSchema } from '../schemas/rag.js'
import { sse } from '../streaming/sse.js'
import { sendStream } from '../streaming/stream-body.js'
import { callOptions } from './call-options.js'
import { queryOrBody } from './prompt-input.js'

const ragRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/rag',
    {
      schema: {
        summary: 'Answer a question from the stored documents, with sources',
        description:
          'Give `query` as a query parameter (the chapter) or a JSON body with options. Retrieval is hybrid ' +
          '(keyword search plus vector search when embeddings are configured, fused by reciprocal rank fusion); ' +
          'the model answers from the numbered passages only and cites them as [n]. When nothing relevant is ' +
          'found the answer says so, `model` is null and no model is called. With `"stream": true` the answer ' +
          'is server-sent events as /stream, preceded by one `data: {"sources": [...]}` frame.',
        tags: ['rag'],
        querystring: ragQuerySchema,
        body: ragBodySchema,
        response: {
          200: {
            description: 'The grounded answer (JSON), or with `stream: true`, server-sent events',
            content: {
              'application/json': { schema: ragResponseSchema },
              'text/event-stream': { schema: z.string() },
            },
          },
          ...providerErrorResponses,
          503: errorResponseSchema.describe(
            'The model or the document store is unavailable or not configured',
          ),
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? undefined
      const question = queryOrBody('query', request.query.query, body, body?.query)
      const options = {
        topK: body?.top_k ?? app.config.RAG_TOP_K,
        filter: body?.filter,
        minScore: body?.min_score,
        model: body?.model ?? app.config.DEFAULT_MODEL,
      }
      const call = callOptions(request)
      if (!body?.stream) {
        const generate = (generateRequest: GenerateRequest) =>
          app.chat.answer('openai', generateRequest, call)
        return reply.send(await app.rag.answer(question, options, generate, call))
      }

      const prepared = await app.rag.prepare(question, options, call)
      // Nothing to ground an answer in: the whole stream is the sources frame and a done frame.
      const stream =
        prepared.messages.length === 0
          ? await app.chat.streamFixed([{ type: 'end', finishReason: 'no_context' }], call)
          : await app.chat.stream('openai', { messages: prepared.messages, model: options.model }, call)
      const format = sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS, preface: { sources: prepared.sources } })
      return sendStream(reply, stream, format)
    },
  )
}

export default ragRoutes
