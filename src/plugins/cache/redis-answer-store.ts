import type { Redis } from 'ioredis'
import type { AnswerStore, StoredAnswer } from '../../services/answer-store.js'
import type { RedisFailures } from '../limits/redis-failures.js'

/** Where cached answers live in Redis: one string per answer, under its cache key. */
export const ANSWER_CACHE_REDIS_PREFIX = 'genai:cache:'

/**
 * Cached answers in Redis, shared by every instance: one JSON string per answer, expiring with the TTL
 * (Redis drops it; its `maxmemory` and eviction policy bound the whole cache). A cache is an
 * optimisation: when Redis fails, a read is a miss and a write is skipped, each with a rate-limited
 * warning, whatever RATE_LIMIT_REDIS_FAILURE says (that policy is about limits).
 */
export class RedisAnswerStore implements AnswerStore {
  readonly #redis: Redis
  readonly #failures: RedisFailures
  readonly #ttlMs: number

  constructor(redis: Redis, failures: RedisFailures, ttlMs: number) {
    this.#redis = redis
    this.#failures = failures
    this.#ttlMs = ttlMs
  }

  get(key: string): Promise<StoredAnswer | undefined> {
    return this.#redis.get(ANSWER_CACHE_REDIS_PREFIX + key).then(
      (json) => (json === null ? undefined : parseAnswer(json)),
      (error: unknown) => {
        this.#failures.warn(error, 'Redis unreachable: the response cache is read as a miss')
        return undefined
      },
    )
  }

  set(key: string, answer: StoredAnswer): void {
    this.#redis
      .set(ANSWER_CACHE_REDIS_PREFIX + key, JSON.stringify(answer), 'PX', this.#ttlMs)
      .catch((error: unknown) => {
        this.#failures.warn(error, 'Redis unreachable: an answer could not be cached')
      })
  }
}

/** A stored answer, or undefined for anything else found under the key (another version's format). */
function parseAnswer(json: string): StoredAnswer | undefined {
  try {
    const value = JSON.parse(json) as Partial<StoredAnswer>
    const valid =
      typeof value.text === 'string' && typeof value.model === 'string' && typeof value.storedAt === 'number'
    return valid ? (value as StoredAnswer) : undefined
  } catch {
    return undefined
  }
}
