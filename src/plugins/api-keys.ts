/**
 * The identity of a caller, as the issue 11 contract declares it. The `access` branch owns this file and
 * sets `request.apiKey` in an `onRequest` hook registered before the rate limiter's; this branch (limits)
 * carries only the declaration it codes against (the lead keeps access's version at merge).
 */

export type Scope = 'use' | 'admin'

export interface ApiKey {
  /** Safe to log and to use as a metrics label. */
  name: string
  /** What the key may do. */
  scope: Scope
  /** Per-key overrides; undefined = the global setting. */
  limits?: { requestsPerWindow?: number; concurrentStreams?: number }
  /** Per-key model allow-list; undefined = the global ALLOWED_MODELS. */
  models?: string[]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The key that authenticated this request; undefined when keys are off (or on an open route). */
    apiKey: ApiKey | undefined
  }
}
