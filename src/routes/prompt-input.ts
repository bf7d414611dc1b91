import type { FastifyRequest } from 'fastify'
import { RequestValidationError } from '../errors.js'
import type { ChatRequest } from '../schemas/chat.js'
import type { PromptBody, PromptQuery } from '../schemas/prompt.js'
import type { ModeratedText } from '../services/input-moderation.js'
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

/** A field that may come from the query or the body, wherever it was given, for the input policy. */
function queryAndBodyInputs(request: FastifyRequest, name: string): ModeratedText[] {
  const inputs: ModeratedText[] = []
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.[name]
  const fromBody = (request.body as Record<string, unknown> | null | undefined)?.[name]
  if (typeof fromQuery === 'string') inputs.push({ loc: ['query', name], text: fromQuery })
  if (typeof fromBody === 'string') inputs.push({ loc: ['body', name], text: fromBody })
  return inputs
}

/** What the input policy checks of a prompt route (`moderatedInput`, plugins/moderation/input-hook.ts). */
export const promptInputs = (request: FastifyRequest) => queryAndBodyInputs(request, 'prompt')

/** What the input policy checks of /rag: the question. */
export const questionInputs = (request: FastifyRequest) => queryAndBodyInputs(request, 'query')

/** What the input policy checks of /chat: every message. */
export const messageInputs = (request: FastifyRequest): ModeratedText[] =>
  (request.body as ChatRequest).messages.map((message, index) => ({
    loc: ['body', 'messages', index, 'content'],
    text: message.content,
  }))
