import { z } from 'zod'
import { modelSchema } from './chat.js'
import { lastEventIdField } from './resume.js'
import { MAX_TEXT_CHARACTERS, nonBlankText } from './text.js'

const promptSchema = nonBlankText(MAX_TEXT_CHARACTERS).describe('The prompt; not empty or only whitespace')

/** The chapter's contract: `prompt` and `model` as query parameters. */
export const promptQuerySchema = z.object({ prompt: promptSchema.optional(), model: modelSchema.optional() })

/** /stream's query: the prompt's, and the frame id a resuming client had last (README "Resumable streams"). */
export const streamQuerySchema = promptQuerySchema.extend({ last_event_id: lastEventIdField })

/** The same fields as a JSON body, for clients that prefer one. */
export const promptBodySchema = z
  .object({ prompt: promptSchema, model: modelSchema.optional() })
  .meta({
    id: 'PromptRequest',
    description: 'Alternative to the query parameters',
    example: { prompt: 'Tell me a joke' },
  })
  // Fastify gives `null` for a request without a body.
  .nullish()

export const promptResponseSchema = z
  .object({ response: z.string().describe('The answer') })
  .meta({ id: 'PromptResponse' })

export type PromptQuery = z.infer<typeof promptQuerySchema>
export type PromptBody = z.infer<typeof promptBodySchema>
