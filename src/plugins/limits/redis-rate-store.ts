import { createRequire } from 'node:module'
import type { FastifyRateLimitStore } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import type { RedisFailures } from './redis-failures.js'
import type { RedisStreamSlots } from './redis-stream-slots.js'

/** Where the counters of the request rate live in Redis: one key per client and window. */
export const RATE_LIMIT_REDIS_PREFIX = 'genai:rate:'

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
 * The requests about to be counted that open a stream: per client, the stream limit of each. The rate
 * limiter tells its `max` option the request and its store only the client's key, one step later;
 * `max` announces a stream here, the store's `incr` takes the announcement. Requests of one client are
 * alike to the count (one key, one limit), so it does not matter which of two concurrent requests'
 * announcements an `incr` takes: each takes one, and as many slots are taken as streams announced.
 */
export class StreamStarts {
  readonly #limits = new Map<string, number[]>()

  announce(client: string, limit: number): void {
    const waiting = this.#limits.get(client)
    if (waiting) waiting.push(limit)
    else this.#limits.set(client, [limit])
  }

  /** The stream limit of an announced stream of `client`, or undefined when none was announced. */
  take(client: string): number | undefined {
    const waiting = this.#limits.get(client)
    if (!waiting) return undefined
    const limit = waiting.shift()
    if (waiting.length === 0) this.#limits.delete(client)
    return limit
  }
}

/**
 * @fastify/rate-limit's store in Redis, with each failure going through the failure policy: counted and
 * logged, then passed on (skipped by `skipOnError` when open) or turned into a 503 (closed). With stream
 * slots in Redis (`streams`), a request announced as opening a stream is counted by one script that also
 * takes its stream's slot (RedisStreamSlots.countAndReserve): one round trip where there were two.
 */
export function guardedRedisStore(
  client: Redis,
  failures: RedisFailures,
  streams?: { slots: RedisStreamSlots; starts: StreamStarts },
) {
  return class GuardedRedisStore {
    readonly #store = new RedisStore(false, false, client, RATE_LIMIT_REDIS_PREFIX)

    incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
      const failed = (error: Error) => {
        try {
          failures.failed(error, 'the request rate')
          callback(error)
        } catch (unavailable) {
          callback(unavailable as Error)
        }
      }
      const streamLimit = streams?.starts.take(key)
      if (streams && streamLimit !== undefined) {
        const rate = { key: RATE_LIMIT_REDIS_PREFIX + key, windowMs: timeWindow, max }
        streams.slots.countAndReserve(rate, key, streamLimit).then((result) => callback(null, result), failed)
        return
      }
      this.#store.incr(
        key,
        (error, result) => (error ? failed(error) : callback(null, result)),
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
