import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InsufficientScopeError, NotAuthenticatedError } from '../errors.js'
import { requiredScope } from './route-access.js'

export type Scope = 'use' | 'admin'

export interface ApiKey {
  /** Safe to log and to use as a metrics label. */
  name: string
  /** What the key may do: `use` the AI routes and read documents, or also write them (`admin`). */
  scope: Scope
  /** Per-key overrides; undefined = the global setting. */
  limits?: { requestsPerWindow?: number; concurrentStreams?: number; tokensPerPeriod?: number }
  /** Per-key model allow-list; undefined = the global ALLOWED_MODELS. */
  models?: string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether API keys are configured, so every route but the open ones needs one. */
    apiKeysRequired: boolean
  }
  interface FastifyRequest {
    /** The key that authenticated this request; undefined when keys are off (or on an open route). */
    apiKey: ApiKey | undefined
  }
}

/** Finds the key a client presented; implemented by plugins/key-ring.ts. */
export interface ApiKeyLookup {
  /** The key whose hash matches `presented`, compared in constant time; undefined for an unknown key. */
  find(presented: string): ApiKey | undefined
  /** The key of that name, for a stream token naming it (a removed key's tokens die with it). */
  byName(name: string): ApiKey | undefined
}

export interface ApiKeyOptions {
  keys: ApiKeyLookup
  /** The key name a valid stream token carries; undefined for an expired or tampered token. */
  streamTokenName: (token: string) => string | undefined
  /** AUTH_OPEN_DOCS: /docs and /openapi.json need no key. */
  openDocs: boolean
}

const BEARER = /^Bearer +(\S+) *$/i

/**
 * Declares `request.apiKey` for every app, and only when keys are configured adds the `onRequest` hook
 * that requires one: with keys off no hook runs, so requests cost what they did before. Registered
 * before the rate limiter, which keys on `request.apiKey`.
 */
export function registerApiKeys(app: FastifyInstance, options: ApiKeyOptions | undefined) {
  app.decorateRequest('apiKey', undefined)
  app.decorate('apiKeysRequired', options !== undefined)
  if (options === undefined) return
  const { keys, streamTokenName, openDocs } = options

  const authenticate = (request: FastifyRequest, reply: FastifyReply): ApiKey | undefined => {
    const config = request.routeOptions.config
    const header = request.headers.authorization
    let key: ApiKey | undefined
    if (header !== undefined) {
      const presented = BEARER.exec(header)?.[1]
      key = presented === undefined ? undefined : keys.find(presented)
    } else if (config.streamToken === true) {
      // EventSource cannot send headers: GET stream routes alone accept a short-lived signed token.
      const token = (request.query as Record<string, unknown> | undefined)?.access_token
      const name = typeof token === 'string' ? streamTokenName(token) : undefined
      key = name === undefined ? undefined : keys.byName(name)
    }
    if (key === undefined) reply.header('www-authenticate', 'Bearer')
    return key
  }

  app.addHook('onRequest', (request, reply, done) => {
    // An unknown URL needs no key: its 404 reveals nothing /openapi.json does not.
    if (request.is404) return done()
    const scope = requiredScope(request.routeOptions.config, openDocs)
    if (scope === 'open') return done()
    const key = authenticate(request, reply)
    if (key === undefined) return done(new NotAuthenticatedError())
    request.apiKey = key
    // Every later line of this request names the key (a refusal's too); the key itself is never logged.
    request.log = request.log.child({ apiKey: key.name })
    reply.log = request.log
    if (scope === 'admin' && key.scope !== 'admin') return done(new InsufficientScopeError(key.scope, scope))
    done()
  })
}
