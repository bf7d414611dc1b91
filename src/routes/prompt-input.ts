import type { FastifyRequest } from 'fastify'
import { RequestValidationError } from '../errors.js'
import type { PromptBody, PromptQuery } from '../schemas/prompt.js'
import { allowedModel, type ModelLocation } from './allowed-models.js'

/**
 * A required field the chapter takes as a query parameter and that may instead come in a JSON body:
 * from exactly one of the two, reported as FastAPI would when it is missing.
 */
export function queryOrBody<T>(
  name: string,
  fromQuery: T | undefined,
  body: object | null | undefined,
  fromBody: T | undefined,
): T {
  if (body && fromQuery !== undefined) {
    throw new RequestValidationError([
      { loc: ['query', name], msg: `Give ${name} in the query or in the body, not both`, type: 'conflict' },
    ])
  }
  const value = body ? fromBody : fromQuery
  if (value === undefined) {
    throw new RequestValidationError([{ loc: ['query', name], msg: 'Field required', type: 'missing' }])
  }
  return value
}

/**
 * The prompt from the query or the body; `model` falls back to the query, then to the default, and must
 * be one the caller may use (allowed-models.ts).
 */
export function promptFrom(
  request: FastifyRequest,
  query: PromptQuery,
  body: PromptBody,
  defaultModel: string,
) {
  const prompt = queryOrBody('prompt', query.prompt, body, body?.prompt)
  const model = body?.model ?? query.model ?? defaultModel
  const location: ModelLocation = body?.model === undefined ? ['query', 'model'] : ['body', 'model']
  return { prompt, model: allowedModel(request, model, location) }
}

/** A prompt as the one user message of a conversation. */
export function asMessages(prompt: string) {
  return [{ role: 'user' as const, content: prompt }]
}
