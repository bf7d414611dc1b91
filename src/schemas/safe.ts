import { z } from 'zod'
import { modelSchema } from './chat.js'

const promptSchema = z.string().min(1).max(100_000).describe('The prompt')

export const safeQuerySchema = z.object({ prompt: promptSchema.optional(), model: modelSchema.optional() })

export const safeBodySchema = z
  .object({ prompt: promptSchema, model: modelSchema.optional() })
  .meta({ id: 'SafeRequest', description: 'Alternative to the query parameters' })
  // Fastify gives `null` for a request without a body.
  .nullish()

export const safeResponseSchema = z
  .object({ response: z.string().describe('The answer') })
  .meta({ id: 'SafeResponse' })
