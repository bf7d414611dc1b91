import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import type { RetrievedChunk } from '../rag/retrieve.js'
import { errorResponseSchema, providerErrorResponses } from '../schemas/errors.js'
import { searchRequestSchema, searchResponseSchema, type searchResultSchema } from '../schemas/rag.js'
import { callOptions } from './call-options.js'

const searchRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/search',
    {
      config: { scope: 'use' },
      schema: {
        summary: 'Find the passages relevant to a question, with their scores and documents',
        description:
          'Retrieval only: the same retrieval as /rag (keyword search, plus vector search when embeddings ' +
          'are configured), returning the passages instead of an answer, so a front end can show sources. ' +
          'No model is asked, so it works without OPENAI_API_KEY; with `EMBEDDING_PROVIDER` set, the ' +
          'question itself is embedded. Scores run from 0 to 1 and mean the same from one question to ' +
          'the next (README, Scores); an empty `results` means nothing relevant was found.',
        tags: ['rag'],
        body: searchRequestSchema,
        response: {
          200: searchResponseSchema.describe('The passages, best first'),
          // The embedding provider's errors, when the question is embedded for vector search.
          ...providerErrorResponses,
          503: errorResponseSchema.describe(
            'The document store is unavailable or was built with other embeddings, or the embedding provider is not configured',
          ),
        },
      },
    },
    async (request) => {
      const { query, top_k, filter, min_score } = request.body
      const options = { topK: top_k ?? app.config.RAG_TOP_K, filter, minScore: min_score }
      const passages = await app.documents.search(query, options, callOptions(request))
      return { results: passages.map(toSearchResultBody) }
    },
  )
}

/** A passage as the wire has it: the text and score, and what a front end needs to cite it. */
function toSearchResultBody(passage: RetrievedChunk): z.infer<typeof searchResultSchema> {
  const { chunk, document } = passage
  return {
    text: chunk.text,
    score: passage.score,
    document: {
      id: document.id,
      title: document.title,
      source: document.source,
      metadata: document.metadata,
    },
    chunk: { id: chunk.id, index: chunk.index },
  }
}

export default searchRoutes
