import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import {
  type StreamLease,
  type StreamSlots,
  tooManyStreams,
  UNCOUNTED_LEASE,
} from '../../streaming/stream-slots.js'
import type { RedisFailures } from './redis-failures.js'

/** Where the stream leases live in Redis: one sorted set per client. */
export const STREAM_SLOTS_REDIS_PREFIX = 'genai:streams:'

/**
 * How long a lease lasts unless renewed. An instance renews its streams' leases every third of it, so a
 * crashed instance's streams stop counting within this long, while a live stream survives two renewals
 * lost to a Redis hiccup.
 */
export const STREAM_LEASE_MS = 30_000

// Scores are expiry times in Redis's own clock (TIME), so instances whose clocks differ agree.
const NOW_MS = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`

/** KEYS[1] the client's set; ARGV: limit, lease ms, lease id. 1 when admitted, 0 when full. */
const ACQUIRE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

/** KEYS[1] the client's set; ARGV: lease ms, lease id. Extends a lease still held (XX: never revives one). */
const RENEW = `${NOW_MS}
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

declare module 'ioredis' {
  interface RedisCommander {
    acquireStreamSlot(key: string, limit: number, leaseMs: number, id: string): Promise<number>
  }
  interface ChainableCommander {
    renewStreamSlot(key: string, leaseMs: number, id: string): ChainableCommander
  }
}

/**
 * Stream slots shared by every instance through Redis: a sorted set per client whose members are the
 * open streams' lease ids, scored by when each lease expires. Admission drops expired leases, then counts
 * (one script, so two instances cannot both take the last slot); the instance renews its leases while
 * their streams live and removes each when its stream ends. A lease a crashed instance left behind expires
 * within `leaseMs`. When Redis fails, the failure policy decides: `open` admits the stream uncounted.
 *
 * One timer per instance renews every lease it holds, in one pipelined round trip, every third of
 * `leaseMs`: a timer per stream cost each stream a timer of its own and a round trip per renewal.
 */
export class RedisStreamSlots implements StreamSlots {
  readonly #redis: Redis
  readonly #failures: RedisFailures
  readonly #leaseMs: number
  /** The leases this instance holds: lease id -> the client's key. */
  readonly #held = new Map<string, string>()
  #renewal: NodeJS.Timeout | undefined

  constructor(redis: Redis, failures: RedisFailures, leaseMs = STREAM_LEASE_MS) {
    this.#redis = redis
    this.#failures = failures
    this.#leaseMs = leaseMs
    if (!redis.acquireStreamSlot) {
      redis.defineCommand('acquireStreamSlot', { numberOfKeys: 1, lua: ACQUIRE })
      redis.defineCommand('renewStreamSlot', { numberOfKeys: 1, lua: RENEW })
    }
  }

  /** How many leases this instance holds (and renews). */
  get held(): number {
    return this.#held.size
  }

  async acquire(client: string, limit: number): Promise<StreamLease> {
    const key = STREAM_SLOTS_REDIS_PREFIX + client
    const id = randomUUID()
    let admitted: number
    try {
      admitted = await this.#redis.acquireStreamSlot(key, limit, this.#leaseMs, id)
    } catch (error) {
      this.#failures.failed(error, 'a stream slot')
      return UNCOUNTED_LEASE
    }
    if (admitted !== 1) throw tooManyStreams(limit)
    return this.#lease(key, id)
  }

  #lease(key: string, id: string): StreamLease {
    this.#held.set(id, key)
    this.#renewal ??= setInterval(() => this.#renewAll(), this.#leaseMs / 3).unref()
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.#held.delete(id)
        if (this.#held.size === 0) {
          clearInterval(this.#renewal)
          this.#renewal = undefined
        }
        this.#redis.zrem(key, id).catch((error: unknown) => {
          // It expires by itself within leaseMs.
          this.#failures.warn(error, 'Redis unreachable: a stream lease could not be removed')
        })
      },
    }
  }

  #renewAll(): void {
    const pipeline = this.#redis.pipeline()
    for (const [id, key] of this.#held) pipeline.renewStreamSlot(key, this.#leaseMs, id)
    const warn = (error: unknown) =>
      this.#failures.warn(error, 'Redis unreachable: a stream lease could not be renewed')
    pipeline.exec().then((results) => {
      const failure = results?.find(([error]) => error)
      if (failure) warn(failure[0])
    }, warn)
  }
}
