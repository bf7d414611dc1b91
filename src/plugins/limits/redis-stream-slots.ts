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

/**
 * How long a released lease may wait for the next acquire to carry its removal to Redis (then one command
 * removes every lease released meanwhile). Another instance may count the slot this much longer; this
 * instance never does: its acquires remove the waiting leases before counting.
 */
export const RELEASE_DELAY_MS = 20

/** KEYS: sets, ARGV: lease ids, pairwise: removes released leases (called with numkeys, as EVAL is). */
const RELEASE = `for index, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[index]) end
return #KEYS`

/**
 * KEYS[1] the client's set, then the sets of released leases; ARGV: limit, lease ms, lease id, then the
 * released lease ids. Removes the released leases first, then admits: 1 when admitted, 0 when full.
 */
const ACQUIRE = `${NOW_MS}
for index = 2, #KEYS do redis.call('ZREM', KEYS[index], ARGV[index + 2]) end
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

const NONE_RELEASED: { keys: string[]; ids: string[] } = Object.freeze({ keys: [], ids: [] })

declare module 'ioredis' {
  interface RedisCommander {
    /** `keys`: 1 + the released leases; `args`: limit, lease ms, lease id, the released lease ids. */
    acquireStreamSlot(keys: number, ...args: (string | number)[]): Promise<number>
    releaseStreamSlots(keys: number, ...args: string[]): Promise<number>
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
 * A release costs no round trip of its own: the next acquire's script removes the leases released since
 * (within RELEASE_DELAY_MS; else one command removes them all). A round trip per release was a third of
 * a stream's Redis work (BENCHMARKS.md "Rate limits").
 *
 * One timer per instance renews every lease it holds, in one pipelined round trip, every third of
 * `leaseMs`: a timer per stream cost each stream a timer of its own and a round trip per renewal.
 */
export class RedisStreamSlots implements StreamSlots {
  readonly #redis: Redis
  readonly #failures: RedisFailures
  readonly #leaseMs: number
  readonly #releaseDelayMs: number
  /** The leases this instance holds: lease id -> the client's key. */
  readonly #held = new Map<string, string>()
  /** Released leases not yet removed from Redis: the sets' keys, and the lease ids at the same index. */
  #releasedKeys: string[] = []
  #releasedIds: string[] = []
  #releaseTimer: NodeJS.Timeout | undefined
  #renewal: NodeJS.Timeout | undefined

  constructor(
    redis: Redis,
    failures: RedisFailures,
    leaseMs = STREAM_LEASE_MS,
    releaseDelayMs = RELEASE_DELAY_MS,
  ) {
    this.#redis = redis
    this.#failures = failures
    this.#leaseMs = leaseMs
    this.#releaseDelayMs = releaseDelayMs
    if (!redis.acquireStreamSlot) {
      redis.defineCommand('acquireStreamSlot', { lua: ACQUIRE })
      redis.defineCommand('releaseStreamSlots', { lua: RELEASE })
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
    const released = this.#takeReleased()
    let admitted: number
    try {
      admitted = await this.#redis.acquireStreamSlot(
        1 + released.keys.length,
        key,
        ...released.keys,
        limit,
        this.#leaseMs,
        id,
        ...released.ids,
      )
    } catch (error) {
      // The released leases expire by themselves within leaseMs (they are no longer renewed).
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
        this.#releasedKeys.push(key)
        this.#releasedIds.push(id)
        this.#releaseTimer ??= setTimeout(() => this.flushReleases(), this.#releaseDelayMs).unref()
      },
    }
  }

  /** Removes the leases released and not yet removed, in one command (also at shutdown). */
  async flushReleases(): Promise<void> {
    const released = this.#takeReleased()
    if (released.keys.length === 0) return
    try {
      await this.#redis.releaseStreamSlots(released.keys.length, ...released.keys, ...released.ids)
    } catch (error) {
      // They expire by themselves within leaseMs.
      this.#failures.warn(error, 'Redis unreachable: a stream lease could not be removed')
    }
  }

  #takeReleased(): { keys: string[]; ids: string[] } {
    if (this.#releasedKeys.length === 0) return NONE_RELEASED
    const released = { keys: this.#releasedKeys, ids: this.#releasedIds }
    this.#releasedKeys = []
    this.#releasedIds = []
    clearTimeout(this.#releaseTimer)
    this.#releaseTimer = undefined
    return released
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
