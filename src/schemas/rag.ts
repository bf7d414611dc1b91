import { z } from 'zod'
import { modelSchema } from './chat.js'
import { metadataSchema } from './documents.js'
import { lastEventIdField } from './resume.js'
import { MAX_QUESTION_CHARACTERS, nonBlankText } from './text.js'

const querySchema = nonBlankText(MAX_QUESTION_CHARACTERS).describe(
  'The question; not empty or only whitespace',
)

/** The chapter's contract: `query` as a query parameter. */
export const ragQuerySchema = z.object({ query: querySchema.optional(), last_event_id: lastEventIdField })

/** The retrieval options /rag and /search share: same names, same limits. */
const retrievalFields = {
  query: querySchema,
  top_k: z.number().int().min(1).max(50).optional().describe('Passages to retrieve; RAG_TOP_K by default'),
  filter: metadataSchema.optional().describe('Only documents whose metadata has all these exact values'),
  min_score: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Drop passages less relevant than this (0 to 1; RAG_MIN_SCORE by default; see README, Scores)'),
}

export const ragBodySchema = z
  .object({
    ...retrievalFields,
    model: modelSchema.optional(),
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

export const searchRequestSchema = z
  .object(retrievalFields)
  .meta({ id: 'SearchRequest', example: { query: 'How does sourdough rise?', top_k: 5 } })

export const searchResultSchema = z
  .object({
    text: z.string().describe('The whole passage as stored and searched (its heading path first)'),
    score: z.number().describe('Relevance from 0 to 1, comparable across queries (see README, Scores)'),
    document: z
      .object({
        id: z.string(),
        title: z.string(),
        source: z.string().describe('Where the document came from (a path or URL); empty when unknown'),
        metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      })
      .describe('The document the passage belongs to'),
    chunk: z
      .object({
        id: z.string().describe('`<document id>:<index>`'),
        index: z.number().int().describe("The passage's position in its document, from 0"),
      })
      .describe('The passage itself (GET /documents/{id} lists them all)'),
  })
  .meta({ id: 'SearchResult' })

export const searchResponseSchema = z
  .object({ results: z.array(searchResultSchema).describe('Best first; empty when nothing is relevant') })
  .meta({
    id: 'SearchResponse',
    example: {
      results: [
        {
          text: '# Sourdough\n\nSourdough rises with wild yeast.',
          score: 0.82,
          document: {
            id: 'sourdough',
            title: 'Sourdough',
            source: 'docs/sourdough.md',
            metadata: { topic: 'baking' },
          },
          chunk: { id: 'sourdough:0', index: 0 },
        },
      ],
    },
  })
