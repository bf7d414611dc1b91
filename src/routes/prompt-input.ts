import { RequestValidationError } from '../errors.js'
import type { PromptBody, PromptQuery } from '../schemas/prompt.js'

/**
 * The prompt may come from the query (the chapter's contract) or a JSON body, but from exactly one;
 * `model` falls back to the query, then to the given default.
 */
export function promptFrom(query: PromptQuery, body: PromptBody, defaultModel: string) {
  if (body && query.prompt !== undefined) {
    throw new RequestValidationError([
      {
        loc: ['query', 'prompt'],
        msg: 'Give prompt in the query or in the body, not both',
        type: 'conflict',
      },
    ])
  }
  const prompt = body?.prompt ?? query.prompt
  if (prompt === undefined) {
    throw new RequestValidationError([{ loc: ['query', 'prompt'], msg: 'Field required', type: 'missing' }])
  }
  return { prompt, model: body?.model ?? query.model ?? defaultModel }
}

/** A prompt as the one user message of a conversation. */
export function asMessages(prompt: string) {
  return [{ role: 'user' as const, content: prompt }]
}
