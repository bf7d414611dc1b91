import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Source } from '../rag/prompt.js'
import { callOptions } from '../request-context.js'
import { errorResponseSchema, providerErrorResponses } from '../schemas/errors.js'
import { ragBodySchema, ragQuerySchema, ragResponseSchema, type sourceSchema } from '../schemas/rag.js'
import { SSE_HEADERS, sseFormat } from '../streaming/sse.js'
import type { RelayEvent } from '../streaming/stream-session.js'
import { openStream, sendFrames, sendStream } from '../streaming/streams.js'
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
        const answer = await app.rag.answer(question, options, app.openai, call)
        return reply.send({ ...answer, sources: answer.sources.map(toSourceBody) })
      }

      const prepared = await app.rag.prepare(question, options, call)
      if (prepared.messages.length === 0) {
        // Nothing to ground an answer in: the whole stream is the sources frame and a done frame.
        return sendFrames(reply, SSE_HEADERS, noContext(), sseFormat(undefined, { sources: [] }))
      }
      const session = await openStream(app, request, app.openai, {
        messages: prepared.messages,
        model: options.model,
      })
      return sendStream(reply, session, SSE_HEADERS, (onFailure) =>
        sseFormat(onFailure, { sources: prepared.sources.map(toSourceBody) }),
      )
    },
  )
}

/** A cited passage as the wire has it (snake_case), in the JSON answer and the stream's first frame. */
function toSourceBody(source: Source): z.infer<typeof sourceSchema> {
  return {
    n: source.n,
    document_id: source.documentId,
    chunk_id: source.chunkId,
    title: source.title,
    source: source.source,
    score: source.score,
    snippet: source.snippet,
  }
}

async function* noContext(): AsyncGenerator<RelayEvent> {
  yield { type: 'part', part: { type: 'end', finishReason: 'no_context' } }
}

export default ragRoutes
