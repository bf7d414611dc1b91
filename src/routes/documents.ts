import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { IngestResult } from '../rag/ingest.js'
import type { StoredChunk, StoredDocument } from '../rag/types.js'
import {
  documentPageSchema,
  documentParamsSchema,
  type documentSchema,
  documentWithChunksSchema,
  ingestRequestSchema,
  ingestResponseSchema,
  pageQuerySchema,
} from '../schemas/documents.js'
import {
  errorResponseSchema,
  providerErrorResponses,
  validationErrorResponseSchema,
} from '../schemas/errors.js'
import { callOptions } from './call-options.js'

const storeErrors = {
  422: validationErrorResponseSchema.describe('Invalid input'),
  503: errorResponseSchema.describe('The document store is unavailable or was built with other embeddings'),
}
const notFound = { 404: errorResponseSchema.describe("`document '<id>' not found`") }

const documentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/documents',
    {
      config: { scope: 'admin' },
      bodyLimit: app.config.INGEST_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Add or replace documents',
        description:
          'Each document is chunked along its structure, embedded (when embeddings are configured) and stored. ' +
          'A document with an existing id (or, without an id, the same `source`, else the same text) replaces ' +
          'the old one; re-sending it unchanged is a no-op, and unchanged chunks are never re-embedded.',
        tags: ['documents'],
        body: ingestRequestSchema,
        response: {
          200: ingestResponseSchema.describe('One result per document, in order'),
          ...providerErrorResponses,
          ...storeErrors,
        },
      },
    },
    async (request) => {
      const results = await app.documents.ingest(request.body.documents, callOptions(request))
      return { results: results.map(toIngestResultBody) }
    },
  )

  app.get(
    '/documents',
    {
      // Reading needs only `use`: /rag answers quote the documents to any `use` key anyway.
      config: { scope: 'use' },
      schema: {
        summary: 'List documents, by id',
        tags: ['documents'],
        querystring: pageQuerySchema,
        response: { 200: documentPageSchema.describe('One page of documents'), ...storeErrors },
      },
    },
    async (request) => {
      const { offset, limit } = request.query
      const page = await app.documents.list(offset, limit)
      return { items: page.items.map(toDocumentBody), total: page.total, offset, limit }
    },
  )

  app.get(
    '/documents/:id',
    {
      config: { scope: 'use' },
      schema: {
        summary: 'One document with its chunks',
        tags: ['documents'],
        params: documentParamsSchema,
        response: { 200: documentWithChunksSchema.describe('The document'), ...notFound, ...storeErrors },
      },
    },
    async (request) => {
      const { document, chunks } = await app.documents.get(request.params.id)
      return { ...toDocumentBody(document), chunks: chunks.map(toChunkBody) }
    },
  )

  app.delete(
    '/documents/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Delete a document and its chunks',
        tags: ['documents'],
        params: documentParamsSchema,
        response: { 204: z.null().describe('Deleted'), ...notFound, ...storeErrors },
      },
    },
    async (request, reply) => {
      await app.documents.delete(request.params.id)
      return reply.code(204).send(null)
    },
  )
}

// The wire is snake_case, the domain camelCase: one mapping per response shape.

function toIngestResultBody(result: IngestResult): z.infer<typeof ingestResponseSchema>['results'][number] {
  return {
    id: result.id,
    status: result.status,
    chunks: result.chunks,
    embedded: result.embedded,
    from_cache: result.fromCache,
  }
}

function toDocumentBody(document: StoredDocument): z.infer<typeof documentSchema> {
  return {
    id: document.id,
    title: document.title,
    source: document.source,
    metadata: document.metadata,
    chunk_count: document.chunkCount,
    created_at: document.createdAt,
    updated_at: document.updatedAt,
  }
}

function toChunkBody(
  chunk: Omit<StoredChunk, 'vector'>,
): z.infer<typeof documentWithChunksSchema>['chunks'][number] {
  return { id: chunk.id, index: chunk.index, text: chunk.text, token_count: chunk.tokenCount }
}

export default documentRoutes
