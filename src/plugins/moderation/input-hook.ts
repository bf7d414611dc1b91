import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify'
import { callOptions } from '../../routes/call-options.js'
import type { ModeratedText } from '../../services/input-moderation.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The texts of a request the input policy checks before the handler runs (README "Moderation"). */
    moderatedInput?: (request: FastifyRequest) => ModeratedText[]
  }
}

/**
 * Gives every route that declares `moderatedInput` a preHandler that checks those texts, so a refused
 * input never reaches a handler, let alone a model; routes registered after it are covered. Without an
 * input policy nothing is added: no hook, no cost.
 */
export function registerInputModeration(app: FastifyInstance): void {
  const moderation = app.inputModeration
  if (!moderation) return
  app.addHook('onRoute', (route) => {
    const inputsOf = route.config?.moderatedInput
    if (!inputsOf) return
    const check: preHandlerHookHandler = (request, _reply, done) => {
      moderation.check(inputsOf(request), callOptions(request)).then(() => done(), done)
    }
    const existing = route.preHandler
    route.preHandler = existing === undefined ? [check] : [...[existing].flat(), check]
  })
}
