import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ApiKey } from './api-keys.js'

/**
 * Short-lived signed tokens for EventSource, which cannot send an Authorization header: `POST
 * /auth/stream-token` trades a key for one, and GET stream routes accept it as `?access_token=`. A token
 * is `base64url(JSON {name, scope, exp})` + `.` + `base64url(HMAC-SHA256)`; it is not a key (no other
 * route takes it), it dies at `exp` and with its key, and the access log masks it.
 */
export class StreamTokens {
  readonly #secret: Buffer
  readonly #ttlSeconds: number
  readonly #now: () => number

  /** `secret`: STREAM_TOKEN_SECRET, or random per process when unset. `now`: the clock in ms (tests set it). */
  constructor(options: { secret: string | undefined; ttlSeconds: number; now?: () => number }) {
    this.#secret = options.secret ? Buffer.from(options.secret) : randomBytes(32)
    this.#ttlSeconds = options.ttlSeconds
    this.#now = options.now ?? Date.now
  }

  /** A token for `key`, and how many seconds it lives. */
  issue(key: ApiKey): { token: string; expiresIn: number } {
    const expires = Math.floor(this.#now() / 1000) + this.#ttlSeconds
    const payload = Buffer.from(JSON.stringify({ name: key.name, scope: key.scope, exp: expires })).toString(
      'base64url',
    )
    return { token: `${payload}.${this.#sign(payload).toString('base64url')}`, expiresIn: this.#ttlSeconds }
  }

  /** The key name a valid, unexpired token carries; undefined for anything else. */
  nameIn(token: string): string | undefined {
    const dot = token.indexOf('.')
    if (dot < 1) return undefined
    const payload = token.slice(0, dot)
    const signature = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = this.#sign(payload)
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined
    let claims: { name?: unknown; exp?: unknown }
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
    const alive = typeof claims.exp === 'number' && claims.exp * 1000 > this.#now()
    return alive && typeof claims.name === 'string' ? claims.name : undefined
  }

  #sign(payload: string): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest()
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Issues and checks stream tokens; undefined when no API keys are configured. */
    streamTokens: StreamTokens | undefined
  }
}
