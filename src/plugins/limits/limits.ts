import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type Config, responseCacheEnabled } from '../../config.js'
import { LimitsUnavailableError, RateLimitedError } from '../../errors.js'
import type { StreamQuota } from '../../providers/provider.js'
import { MemoryStreamSlots, type StreamSlots } from '../../streaming/stream-slots.js'
import { clientOf } from './client-key.js'
import { registerRateLimit, type SharedCounters } from './rate-limit.js'
import { connectRedis } from './redis-client.js'
import { RedisFailures } from './redis-failures.js'
import { RedisStreamSlots } from './redis-stream-slots.js'

/** The per-client limits of the app (README "Rate limits"), for the services, metrics and tests. */
export interface Limits {
  /** Counts the streams each client holds open; undefined when STREAMS_PER_CLIENT is 0. */
  streamSlots: StreamSlots | undefined
  /**
   * Redis and its failures (counted: `failures.count`), when REDIS_URL shares the counters (and the token
   * budgets and cached answers, plugins/budgets and plugins/cache).
   */
  redis: SharedCounters | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The per-client limits: stream slots, and Redis when the counters are shared. */
    limits: Limits
  }
  interface FastifyRequest {
    /** The client's share of open streams; undefined when streams are not limited (STREAMS_PER_CLIENT=0). */
    readonly streamQuota: StreamQuota | undefined
  }
}

/**
 * Connects the limits' store (Redis with REDIS_URL, else memory) and decorates the app with the limits.
 * The request rate is registered apart (limitRoutesFromHere), between the open routes and the others.
 */
export async function createLimits(app: FastifyInstance, config: Config): Promise<Limits> {
  // The token budgets and the response cache share the limits' connection.
  const usesRedis =
    config.RATE_LIMIT_MAX > 0 ||
    config.STREAMS_PER_CLIENT > 0 ||
    config.TOKEN_BUDGET_PER_KEY > 0 ||
    responseCacheEnabled(config)
  let redis: SharedCounters | undefined
  if (config.REDIS_URL && usesRedis) {
    const failures = new RedisFailures(app.log, config.RATE_LIMIT_REDIS_FAILURE)
    redis = { client: await connectRedis(app, config.REDIS_URL, failures), failures }
  }
  let streamSlots: StreamSlots | undefined
  if (config.STREAMS_PER_CLIENT > 0) {
    streamSlots = redis ? redisStreamSlots(app, redis) : new MemoryStreamSlots()
  }
  const limits = { streamSlots, redis }
  app.decorate('limits', limits)
  decorateStreamQuota(app, config.STREAMS_PER_CLIENT)
  return limits
}

/** Stream slots in Redis; the slots a shutdown's streams and requests leave are given back before it quits. */
function redisStreamSlots(app: FastifyInstance, redis: SharedCounters): RedisStreamSlots {
  const slots = new RedisStreamSlots(redis.client, redis.failures)
  app.addHook('onClose', () => slots.close())
  return slots
}

/**
 * `request.streamQuota`, read by the routes that open streams: computed when read (a getter), so other
 * requests pay nothing. STREAMS_PER_CLIENT=0 turns the stream limit off, per-key limits included (as
 * RATE_LIMIT_MAX=0 does for the rate).
 */
function decorateStreamQuota(app: FastifyInstance, globalLimit: number) {
  app.decorateRequest('streamQuota', {
    getter(this: FastifyRequest): StreamQuota | undefined {
      if (globalLimit === 0) return undefined
      return { client: clientOf(this), limit: this.apiKey?.limits?.concurrentStreams ?? globalLimit }
    },
  })
}

/**
 * Registers the request rate limit: every route registered after it is limited. Every 429 of ours (a
 * RateLimitedError, whichever limit refused) is counted in the metrics, in an `onError` hook: nothing
 * runs for a request that is not refused.
 */
export async function limitRoutesFromHere(app: FastifyInstance, config: Config, limits: Limits) {
  await registerRateLimit(app, config, limits.redis, limits.streamSlots)
  if (config.RATE_LIMIT_MAX === 0 && limits.streamSlots === undefined) return
  app.addHook('onError', async (_request, _reply, error) => {
    if (error instanceof RateLimitedError) app.metrics.countRateLimitRejection()
  })
}

/**
 * The /ready check of Redis, when a Redis outage refuses requests (RATE_LIMIT_REDIS_FAILURE=closed): a
 * load balancer then sends them elsewhere. Failing open, the server serves without Redis: not a reason
 * to take every instance out of rotation at once.
 */
export function redisReadinessCheck(config: Config, limits: Limits): (() => Promise<unknown>) | undefined {
  const redis = limits.redis
  if (!redis || config.RATE_LIMIT_REDIS_FAILURE === 'open') return undefined
  return async () => {
    try {
      await redis.client.ping()
    } catch (error) {
      throw new LimitsUnavailableError({ cause: error })
    }
  }
}
