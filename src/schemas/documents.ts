import { z } from 'zod'
import { nonBlankText } from './text.js'

/** The longest document text accepted, in characters (a large book is ~1M). */
export const MAX_DOCUMENT_CHARACTERS = 2_000_000

export const metadataSchema = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1_000), z.number(), z.boolean()]))
  .refine((metadata) => Object.keys(metadata).length <= 32, 'at most 32 keys')
  .describe('Key/values matched exactly by `filter` in /rag')

export const documentIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}/]+$/u, 'must not contain control characters or "/"')
  .describe('Stable id; re-sending the same id replaces the document')

export const documentInputSchema = z
  .object({
    id: documentIdSchema.optional(),
    title: z
      .string()
      .max(500)
      .optional()
      .describe('Defaults to the first Markdown heading, else the source file name'),
    text: nonBlankText(MAX_DOCUMENT_CHARACTERS).describe(
      'Plain text or Markdown (headings guide the chunking)',
    ),
    source: z
      .string()
      .max(2_000)
      .optional()
      .describe('Where it came from; without an id, it identifies the document'),
    metadata: metadataSchema.optional(),
  })
  .meta({ id: 'NewDocument' })

export const ingestRequestSchema = z
  .object({ documents: z.array(documentInputSchema).min(1).max(100) })
  .meta({
    id: 'IngestRequest',
    example: {
      documents: [
        {
          title: 'Sourdough',
          text: '# Sourdough\n\nSourdough rises with wild yeast.',
          metadata: { topic: 'baking' },
        },
      ],
    },
  })

export const ingestResponseSchema = z
  .object({
    results: z.array(
      z.object({
        id: z.string(),
        status: z.enum(['created', 'updated', 'unchanged']),
        chunks: z.number().int(),
        embedded: z.number().int().describe('Chunks sent to the embedding model'),
        from_cache: z.number().int().describe('Chunks whose vectors came from the cache'),
      }),
    ),
  })
  .meta({ id: 'IngestResponse' })

export const documentSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    source: z.string(),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    chunk_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Document' })

export const documentPageSchema = z
  .object({
    items: z.array(documentSchema),
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
  })
  .meta({ id: 'DocumentPage' })

export const documentWithChunksSchema = documentSchema
  .extend({
    chunks: z.array(
      z.object({ id: z.string(), index: z.number().int(), text: z.string(), token_count: z.number().int() }),
    ),
  })
  .meta({ id: 'DocumentWithChunks' })

export const pageQuerySchema = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})

export const documentParamsSchema = z.object({ id: documentIdSchema })
