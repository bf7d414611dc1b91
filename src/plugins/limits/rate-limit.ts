import { createRequire } from 'node:module'
import fastifyRateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../../config.js'
import { RateLimitedError } from '../../errors.js'
import { clientOf } from './client-key.js'
import type { RedisFailures } from './redis-failures.js'

/** Where the counters of the request rate live in Redis: one key per client and window. */
export const RATE_LIMIT_REDIS_PREFIX = 'genai:rate:'

/** Counters in Redis, shared by every instance, and what to do when it fails. */
export interface SharedCounters {
  client: Redis
  failures: RedisFailures
}

/**
 * Requests per window per client (its API key's name, or its IP when keys are off), with
 * @fastify/rate-limit: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS, or the key's `limits.requestsPerWindow`;
 * counted in memory, or in Redis (`redis`) to be shared by every instance.
 * A fixed window starting at the client's first request. Over it: 429 `{"detail"}` with Retry-After and
 * the draft standard RateLimit-Limit, -Remaining, -Reset headers (every answer carries the latter three).
 *
 * Only routes registered after this are limited: app.ts registers it after the open ones (the docs,
 * /health, /ready, /metrics); an open route registered later opts out with `config: { rateLimit: false }`.
 * RATE_LIMIT_MAX=0 installs nothing.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  config: Config,
  redis: SharedCounters | undefined,
) {
  if (config.RATE_LIMIT_MAX === 0) return
  const windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000)
  await app.register(fastifyRateLimit, {
    global: true,
    max: (request) => request.apiKey?.limits?.requestsPerWindow ?? config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    keyGenerator: clientOf,
    enableDraftSpec: true,
    // The failure policy decides: guardedRedisStore throws a 503 when it is `closed`.
    skipOnError: config.RATE_LIMIT_REDIS_FAILURE === 'open',
    ...(redis && { store: guardedRedisStore(redis.client, redis.failures) }),
    errorResponseBuilder: (request, context) => {
      const per = request.apiKey ? 'this API key' : 'this client'
      const reason = `${context.max} requests per ${windowSeconds} s for ${per}; retry in ${context.after}`
      return new RateLimitedError('requests', reason, context.ttl)
    },
  })
}

type StoreCallback = Parameters<FastifyRateLimitStore['incr']>[1]

// The library's own Redis store (its Lua script, one round trip per request), wrapped below.
const require = createRequire(import.meta.url)
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: Redis,
  prefix: string,
) => FastifyRateLimitStore

/**
 * @fastify/rate-limit's Redis store, with each failure going through the failure policy: counted and
 * logged, then passed on (skipped by `skipOnError` when open) or turned into a 503 (closed).
 */
function guardedRedisStore(client: Redis, failures: RedisFailures) {
  return class GuardedRedisStore {
    readonly #store = new RedisStore(false, false, client, RATE_LIMIT_REDIS_PREFIX)

    incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      this.#store.incr(
        key,
        (error, result) => {
          if (!error) return callback(null, result)
          try {
            failures.failed(error, 'the request rate')
            callback(error)
          } catch (unavailable) {
            callback(unavailable as Error)
          }
        },
        timeWindow,
        max,
      )
    }

    child(): this {
      // Routes share the global counter: per-route limits are not used.
      return this
    }
  }
}
