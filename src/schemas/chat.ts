import { z } from 'zod'
import { MAX_MESSAGES, MAX_MODEL_CHARACTERS, MAX_TEXT_CHARACTERS, nonBlankText } from './text.js'

export const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']).describe('Who speaks'),
    content: nonBlankText(MAX_TEXT_CHARACTERS).describe('What they say; not empty or only whitespace'),
  })
  .meta({ id: 'ChatMessage' })

export const modelSchema = nonBlankText(MAX_MODEL_CHARACTERS).describe(
  'The model to ask; the server default (DEFAULT_MODEL) when omitted',
)

export const chatRequestSchema = z
  .object({
    messages: z.array(messageSchema).min(1).max(MAX_MESSAGES).describe('The conversation, oldest first'),
    model: modelSchema.optional(),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .optional()
      .describe(
        'Sampling temperature; sent upstream only when given (reasoning models such as gpt-5 reject it)',
      ),
  })
  .meta({
    id: 'ChatRequest',
    example: { messages: [{ role: 'user', content: 'Say hello in French.' }], model: 'gpt-5' },
  })

export const chatResponseSchema = z
  .object({
    text: z.string().describe('The answer'),
    model: z.string().describe('The model that answered, as the provider names it'),
  })
  .meta({ id: 'ChatResponse' })

export type ChatRequest = z.infer<typeof chatRequestSchema>
