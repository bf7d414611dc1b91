import { z } from 'zod'
import { modelSchema } from './chat.js'
import { metadataSchema } from './documents.js'
import { MAX_QUESTION_CHARACTERS, nonBlankText } from './text.js'

const querySchema = nonBlankText(MAX_QUESTION_CHARACTERS).describe(
  'The question; not empty or only whitespace',
)

/** The chapter's contract: `query` as a query parameter. */
export const ragQuerySchema = z.object({ query: querySchema.optional() })

export const ragBodySchema = z
  .object({
    query: querySchema,
    top_k: z.number().int().min(1).max(50).optional().describe('Passages to retrieve; RAG_TOP_K by default'),
    model: modelSchema.optional(),
    filter: metadataSchema.optional().describe('Only documents whose metadata has all these exact values'),
    min_score: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'Drop passages less relevant than this (0 to 1; RAG_MIN_SCORE by default; see README, Scores)',
      ),
    stream: z.boolean().optional().describe('Answer as server-sent events, sources first'),
  })
  .meta({ id: 'RagRequest', example: { query: 'How does sourdough rise?', top_k: 5 } })
  .nullish()

export const sourceSchema = z
  .object({
    n: z.number().int().describe('The number the answer cites as [n]'),
    document_id: z.string(),
    chunk_id: z.string(),
    title: z.string(),
    source: z.string(),
    score: z
      .number()
      .describe(
        'Relevance, 0 to 1, comparable across questions: the share of the question the passage covers',
      ),
    snippet: z.string().describe('The start of the passage'),
  })
  .meta({ id: 'Source' })

export const ragResponseSchema = z
  .object({
    text: z.string().describe('The answer, citing sources as [n]'),
    model: z.string().nullable().describe('The model that answered; null when nothing relevant was found'),
    sources: z.array(sourceSchema),
    messages: z
      .array(z.object({ role: z.string(), content: z.string() }))
      .describe('The messages sent to the model (empty when none was asked)'),
  })
  .meta({ id: 'RagResponse' })
