/**
 * The Lua scripts of the stream slots in Redis (redis-stream-slots.ts), defined on the client as ioredis
 * commands (EVALSHA). A client's slots are a sorted set of lease ids scored by when each lease expires.
 */

// Scores are expiry times in Redis's own clock (TIME), so instances whose clocks differ agree.
const NOW_MS = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`

/** KEYS[first..] the sets of released leases, ARGV[first + offset..] their ids: removed. */
const removeReleased = (first: number, offset: number) =>
  `for index = ${first}, #KEYS do redis.call('ZREM', KEYS[index], ARGV[index + ${offset}]) end`

/** Admits lease ARGV[id] into set KEYS[set] under limit ARGV[limit] for ARGV[lease] ms, or returns `full`. */
const takeSlot = (set: number, limit: number, lease: number, id: number, full: string, admitted: string) => `
redis.call('ZREMRANGEBYSCORE', KEYS[${set}], '-inf', now)
if redis.call('ZCARD', KEYS[${set}]) >= tonumber(ARGV[${limit}]) then return ${full} end
redis.call('ZADD', KEYS[${set}], now + tonumber(ARGV[${lease}]), ARGV[${id}])
redis.call('PEXPIRE', KEYS[${set}], ARGV[${lease}])
return ${admitted}`

/**
 * KEYS[1] the client's set, then the sets of released leases; ARGV: limit, lease ms, lease id, then the
 * released lease ids. Removes the released leases first, then admits: 1 when admitted, 0 when full.
 */
export const ACQUIRE = `${NOW_MS}
${removeReleased(2, 2)}
${takeSlot(1, 1, 2, 3, '0', '1')}`

/**
 * One request of a stream: its count in the request rate, and a slot when the rate admits it.
 * KEYS[1] the rate counter, KEYS[2] the client's set, then the sets of released leases; ARGV: window ms,
 * max requests, stream limit, lease ms, lease id, then the released lease ids. The count is
 * @fastify/rate-limit's own (its RedisStore's script, without continueExceeding and backoff: a fixed
 * window from the first request). Returns {count, window ms left, 1 when a slot was taken else 0}.
 */
export const COUNT_AND_ACQUIRE = `${NOW_MS}
local current = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ttl) else ttl = redis.call('PTTL', KEYS[1]) end
${removeReleased(3, 3)}
if current > tonumber(ARGV[2]) then return {current, ttl, 0} end
${takeSlot(2, 3, 4, 5, '{current, ttl, 0}', '{current, ttl, 1}')}`

/** KEYS: sets, ARGV: lease ids, pairwise: removes released leases. */
export const RELEASE = `${removeReleased(1, 0)}
return #KEYS`

/** KEYS[1] the client's set; ARGV: lease ms, lease id. Extends a lease still held (XX: never revives one). */
export const RENEW = `${NOW_MS}
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

declare module 'ioredis' {
  interface RedisCommander {
    /** `keys`: 1 + the released leases; `args`: limit, lease ms, lease id, the released lease ids. */
    acquireStreamSlot(keys: number, ...args: (string | number)[]): Promise<number>
    /** `keys`: 2 + the released leases; see COUNT_AND_ACQUIRE. */
    countAndAcquireStreamSlot(keys: number, ...args: (string | number)[]): Promise<[number, number, number]>
    releaseStreamSlots(keys: number, ...args: string[]): Promise<number>
  }
  interface ChainableCommander {
    renewStreamSlot(key: string, leaseMs: number, id: string): ChainableCommander
  }
}
