import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Source } from '../rag/prompt.js'
import { errorResponseSchema, providerErrorResponses } from '../schemas/errors.js'
import { ragBodySchema, ragQuerySchema, ragResponseSchema, type sourceSchema } from '../schemas/rag.js'
import { sse } from '../streaming/sse.js'
import { sendStream } from '../streaming/stream-body.js'
import { allowedModel } from './allowed-models.js'
import { callOptions, resumableStream, streamCallOptions } from './call-options.js'
import { queryOrBody, questionInputs } from './prompt-input.js'
import { resumePosition, sendResumed } from './resume-input.js'

const ragRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/rag',
    {
      config: { scope: 'use', generates: true, moderatedInput: questionInputs },
      schema: {
        summary: 'Answer a question from the stored documents, with sources',
        description:
          'Give `query` as a query parameter (the chapter) or a JSON body with options. Retrieval is hybrid ' +
          '(keyword search plus vector search when embeddings are configured), each passage scored by its ' +
          'relevance to the question, 0 to 1 (README "Scores"); passages under `min_score` (RAG_MIN_SCORE by ' +
          'default) are dropped. The model answers from the numbered passages only and cites them as [n]. ' +
          'When nothing relevant is found the answer says so, `model` is null and no model is called. With ' +
          '`"stream": true` the answer is server-sent events as /stream, preceded by one ' +
          '`data: {"sources":[...]}` frame (id `<stream id>:0`); resumable as /stream, with `Last-Event-ID` ' +
          'or `?last_event_id=` and the same body.',
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
      // A streaming request carrying a Last-Event-ID resumes its stream: no retrieval, no generation.
      const position = body?.stream ? resumePosition(request) : undefined
      if (position) return sendResumed(request, reply, position)
      const question = queryOrBody('query', request.query.query, body, body?.query)
      const options = {
        topK: body?.top_k ?? app.config.RAG_TOP_K,
        filter: body?.filter,
        minScore: body?.min_score,
        model: allowedModel(request, body?.model ?? app.config.DEFAULT_MODEL, ['body', 'model']),
      }
      if (!body?.stream) {
        const answer = await app.rag.answer(question, options, callOptions(request))
        return reply.send({ ...answer, sources: answer.sources.map(toSourceBody) })
      }

      const { sources, stream } = await app.rag.streamAnswer(
        question,
        options,
        streamCallOptions(request),
        resumableStream(request),
      )
      const preface = { sources: sources.map(toSourceBody) }
      const streamId = stream.resumable?.id
      return sendStream(reply, stream, sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS, preface, streamId }))
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

export default ragRoutes
