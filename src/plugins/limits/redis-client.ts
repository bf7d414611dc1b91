import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { RedisFailures } from './redis-failures.js'

/**
 * A limit check waits at most this long for Redis. A check takes well under a millisecond; a Redis that
 * accepted the connection but stopped answering would otherwise hold every request.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 500
/** How long connecting may take, at boot and on each reconnection. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000

/**
 * The Redis client of the limits. While Redis is away, commands fail at once instead of queueing: with
 * the offline queue on (ioredis's default) a request would wait for Redis as long as it is away, and every
 * waiting request would hold memory. Commands in flight when the connection drops fail too
 * (maxRetriesPerRequest 0) rather than being sent again after a reconnection, when their answer is late.
 * ioredis keeps reconnecting in the background (its default backoff); the failure policy
 * (redis-failures.ts) decides what requests get meanwhile. Closed when the app closes.
 */
export async function connectRedis(
  app: FastifyInstance,
  url: string,
  failures: RedisFailures,
): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    lazyConnect: true,
    // Commands issued in one turn of the event loop (the rate count and stream slots of concurrent
    // requests) go out in one write and come back in one read: fewer syscalls per request under load.
    enableAutoPipelining: true,
  })
  redis.on('error', (error) => failures.warn(error, 'Redis connection failed; reconnecting'))
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
  // The start waits for Redis, so the first requests are counted; a Redis that is down does not stop
  // the start (the failure policy applies until it is back).
  await redis.connect().catch(() => {
    // warned through the 'error' listener; ioredis goes on reconnecting
  })
  return redis
}
