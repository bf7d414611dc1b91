import type { Redis } from 'ioredis'
import type { RedisFailures } from '../limits/redis-failures.js'
import type { BudgetCounters } from './budget-counters.js'

/** Where the token counts live in Redis: one integer per key and period. */
export const TOKEN_BUDGET_REDIS_PREFIX = 'genai:tokens:'

/**
 * Token counts shared by every instance: `genai:tokens:<key name>:<period>`, added to with INCRBY and
 * expiring one period after the period ends (nothing outlives its use). A count that cannot be read goes
 * through the limits' failure policy (RATE_LIMIT_REDIS_FAILURE: `open` serves as if nothing was used,
 * `closed` answers 503); a charge that cannot be written is a warning.
 */
export class RedisBudgetCounters implements BudgetCounters {
  readonly #redis: Redis
  readonly #failures: RedisFailures
  readonly #periodMs: number

  constructor(redis: Redis, failures: RedisFailures, periodMs: number) {
    this.#redis = redis
    this.#failures = failures
    this.#periodMs = periodMs
  }

  async used(key: string, period: number): Promise<number> {
    let count: string | null
    try {
      count = await this.#redis.get(redisKey(key, period))
    } catch (error) {
      this.#failures.failed(error, 'a token budget')
      return 0
    }
    return count === null ? 0 : Number(count)
  }

  charge(key: string, period: number, tokens: number): void {
    const name = redisKey(key, period)
    // Expires a period after its period ends, whenever in the period the first charge came.
    const expiresAt = (period + 2) * this.#periodMs
    this.#redis
      .multi()
      .incrby(name, tokens)
      .pexpireat(name, expiresAt)
      .exec()
      .then((results) => {
        const failure = results?.find(([error]) => error)
        if (failure) throw failure[0]
      })
      .catch((error: unknown) => {
        this.#failures.warn(error, 'Redis unreachable: tokens used could not be charged to a budget')
      })
  }
}

const redisKey = (key: string, period: number) => `${TOKEN_BUDGET_REDIS_PREFIX}${key}:${period}`
