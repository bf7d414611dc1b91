import type { FastifyRequest } from 'fastify'
import { RequestValidationError } from '../errors.js'

/** Where a request's model was given, FastAPI style; a model defaulted counts as the query's. */
export type ModelLocation = ['body', 'model'] | ['query', 'model']

/**
 * `model` when the caller may use it: its API key's own list when it has one, else ALLOWED_MODELS (none:
 * any model). Any other is a 422 naming the allowed ones, before any upstream is called.
 */
export function allowedModel(request: FastifyRequest, model: string, location: ModelLocation): string {
  const allowed = request.apiKey?.models ?? request.server.config.ALLOWED_MODELS
  if (allowed === undefined || allowed.includes(model)) return model
  throw new RequestValidationError([
    {
      loc: location,
      msg: `Model not allowed; allowed models: ${allowed.join(', ')}`,
      type: 'model_not_allowed',
    },
  ])
}
