import type { FastifyInstance } from 'fastify'
import type { ApiKey } from '../src/plugins/api-keys.js'

/**
 * Stands in for the access plugin (branch `access`), which sets `request.apiKey` in an `onRequest` hook
 * before the rate limiter's: here `Authorization: Bearer <name>` names one of `keys`, unchecked. A
 * buildApp `setUp` option.
 */
export function fakeApiKeys(...keys: ApiKey[]): (app: FastifyInstance) => void {
  const byName = new Map(keys.map((key) => [key.name, key]))
  return (app) => {
    app.addHook('onRequest', async (request) => {
      const name = request.headers.authorization?.replace(/^Bearer /, '')
      request.apiKey = name === undefined ? undefined : byName.get(name)
    })
  }
}

/** The headers of a request made with the fake key `name`. */
export const bearer = (name: string) => ({ authorization: `Bearer ${name}` })
