import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import {
  type StreamLease,
  type StreamSlots,
  tooManyStreams,
  UNCOUNTED_LEASE,
} from '../../streaming/stream-slots.js'
import type { RedisFailures } from './redis-failures.js'
import { ACQUIRE, COUNT_AND_ACQUIRE, RELEASE, RENEW } from './redis-slot-scripts.js'

/** Where the stream leases live in Redis: one sorted set per client. */
export const STREAM_SLOTS_REDIS_PREFIX = 'genai:streams:'

/**
 * How long a lease lasts unless renewed. An instance renews its streams' leases every third of it, so a
 * crashed instance's streams stop counting within this long, while a live stream survives two renewals
 * lost to a Redis hiccup.
 */
export const STREAM_LEASE_MS = 30_000

/**
 * How long a released lease may wait for the next acquire to carry its removal to Redis (then one command
 * removes every lease released meanwhile). Another instance may count the slot this much longer; this
 * instance never does: its acquires remove the waiting leases before counting.
 */
export const RELEASE_DELAY_MS = 20

/**
 * How long a slot taken with a stream request's rate count (countAndReserve) waits for its stream. A
 * request that opens none after all (a 422, a resumption) leaves it behind: it is then released, and
 * counted that long too many at most. A stream that comes later acquires a slot of its own.
 */
export const RESERVATION_MS = 1_000

/** The times of the slots (tests shorten or lengthen them). */
export interface SlotTimes {
  leaseMs: number
  releaseDelayMs: number
  reservationMs: number
}

/** The request rate's side of countAndReserve: the counter's key, its window and maximum. */
export interface RateCount {
  key: string
  windowMs: number
  max: number
}

/**
 * Stream slots shared by every instance through Redis: a sorted set per client whose members are the
 * open streams' lease ids, scored by when each lease expires. Admission drops expired leases, then counts
 * (one script, so two instances cannot both take the last slot); the instance renews its leases while
 * their streams live and removes each when its stream ends. A lease a crashed instance left behind expires
 * within `leaseMs`. When Redis fails, the failure policy decides: `open` admits the stream uncounted.
 *
 * Round trips are what a stream pays for Redis (~12-25 µs of CPU each at c=64, BENCHMARKS.md "Rate
 * limits"), so a stream makes one: its request's rate count takes a slot in the same script
 * (countAndReserve), which the stream's acquire then finds here; and a release takes none, the next
 * script carrying it (within RELEASE_DELAY_MS, else one command removes every lease released meanwhile).
 * One timer per instance renews every lease it holds, in one pipelined round trip, every third of
 * `leaseMs`.
 */
export class RedisStreamSlots implements StreamSlots {
  readonly #redis: Redis
  readonly #failures: RedisFailures
  readonly #leaseMs: number
  readonly #releaseDelayMs: number
  readonly #reservationMs: number
  /** The leases this instance holds (reserved ones too): lease id -> the client's key. */
  readonly #held = new Map<string, string>()
  /** Slots taken with a rate count, waiting for their stream: the client's key -> lease ids and until when. */
  readonly #reserved = new Map<string, { id: string; until: number }[]>()
  #reservationSweep: NodeJS.Timeout | undefined
  /** Released leases not yet removed from Redis: the sets' keys, and the lease ids at the same index. */
  #releasedKeys: string[] = []
  #releasedIds: string[] = []
  #releaseTimer: NodeJS.Timeout | undefined
  #renewal: NodeJS.Timeout | undefined

  constructor(redis: Redis, failures: RedisFailures, times: Partial<SlotTimes> = {}) {
    this.#redis = redis
    this.#failures = failures
    this.#leaseMs = times.leaseMs ?? STREAM_LEASE_MS
    this.#releaseDelayMs = times.releaseDelayMs ?? RELEASE_DELAY_MS
    this.#reservationMs = times.reservationMs ?? RESERVATION_MS
    if (!redis.acquireStreamSlot) {
      redis.defineCommand('acquireStreamSlot', { lua: ACQUIRE })
      redis.defineCommand('countAndAcquireStreamSlot', { lua: COUNT_AND_ACQUIRE })
      redis.defineCommand('releaseStreamSlots', { lua: RELEASE })
      redis.defineCommand('renewStreamSlot', { numberOfKeys: 1, lua: RENEW })
    }
  }

  /** How many leases this instance holds (and renews), reserved ones included. */
  get held(): number {
    return this.#held.size
  }

  async acquire(client: string, limit: number): Promise<StreamLease> {
    const key = STREAM_SLOTS_REDIS_PREFIX + client
    const reserved = this.#reserved.get(key)?.shift()
    if (reserved) return this.#lease(key, reserved.id)
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

  /**
   * Counts a request of `client` that opens a stream in its request rate and, when the rate admits it and
   * a slot is free, takes one for the stream's acquire to find; resolves to the count and the window's
   * time left, as @fastify/rate-limit's store does. A full client gets no slot: its acquire refuses it.
   * Rejects when Redis fails (the caller applies the failure policy; the releases it carried then
   * expire by themselves within leaseMs).
   */
  async countAndReserve(
    rate: RateCount,
    client: string,
    limit: number,
  ): Promise<{ current: number; ttl: number }> {
    const key = STREAM_SLOTS_REDIS_PREFIX + client
    const id = randomUUID()
    const released = this.#takeReleased()
    const [current, ttl, reserved] = await this.#redis.countAndAcquireStreamSlot(
      2 + released.keys.length,
      rate.key,
      key,
      ...released.keys,
      rate.windowMs,
      rate.max,
      limit,
      this.#leaseMs,
      id,
      ...released.ids,
    )
    if (reserved === 1) this.#reserve(key, id)
    return { current, ttl }
  }

  #reserve(key: string, id: string): void {
    this.#hold(key, id)
    const waiting = this.#reserved.get(key) ?? []
    if (waiting.length === 0) this.#reserved.set(key, waiting)
    waiting.push({ id, until: performance.now() + this.#reservationMs })
    this.#reservationSweep ??= setTimeout(() => this.#releaseUnclaimed(), this.#reservationMs).unref()
  }

  /** Releases the reserved slots no stream took in time. */
  #releaseUnclaimed(): void {
    this.#reservationSweep = undefined
    const now = performance.now()
    let next = Number.POSITIVE_INFINITY
    for (const [key, waiting] of this.#reserved) {
      while (waiting[0] && waiting[0].until <= now) this.#release(key, (waiting.shift() as { id: string }).id)
      if (waiting[0]) next = Math.min(next, waiting[0].until)
      else this.#reserved.delete(key)
    }
    if (next < Number.POSITIVE_INFINITY) {
      this.#reservationSweep = setTimeout(() => this.#releaseUnclaimed(), next - now).unref()
    }
  }

  #lease(key: string, id: string): StreamLease {
    this.#hold(key, id)
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.#release(key, id)
      },
    }
  }

  #hold(key: string, id: string): void {
    this.#held.set(id, key)
    this.#renewal ??= setInterval(() => this.#renewAll(), this.#leaseMs / 3).unref()
  }

  #release(key: string, id: string): void {
    this.#held.delete(id)
    if (this.#held.size === 0) {
      clearInterval(this.#renewal)
      this.#renewal = undefined
    }
    this.#releasedKeys.push(key)
    this.#releasedIds.push(id)
    this.#releaseTimer ??= setTimeout(() => {
      this.#releaseTimer = undefined
      void this.flushReleases()
    }, this.#releaseDelayMs).unref()
  }

  /**
   * At shutdown, when every request has been answered: gives back the slots reserved that no stream took,
   * and removes every released lease, before the connection quits.
   */
  async close(): Promise<void> {
    clearTimeout(this.#reservationSweep)
    this.#reservationSweep = undefined
    for (const [key, waiting] of this.#reserved) for (const { id } of waiting) this.#release(key, id)
    this.#reserved.clear()
    await this.flushReleases()
  }

  /** Removes the leases released and not yet removed, in one command. */
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
    // The timer stays: under load a script carries nearly every release, and one timer per
    // RELEASE_DELAY_MS that finds nothing costs less than one set and cleared per stream.
    this.#releasedKeys = []
    this.#releasedIds = []
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

const NONE_RELEASED: { keys: string[]; ids: string[] } = Object.freeze({ keys: [], ids: [] })
