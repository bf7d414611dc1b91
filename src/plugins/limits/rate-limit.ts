import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../../config.js'
import { RateLimitedError } from '../../errors.js'
import type { StreamSlots } from '../../streaming/stream-slots.js'
import { clientOf } from './client-key.js'
import type { RedisFailures } from './redis-failures.js'
import { guardedRedisStore, StreamStarts } from './redis-rate-store.js'
import { RedisStreamSlots } from './redis-stream-slots.js'

export { RATE_LIMIT_REDIS_PREFIX } from './redis-rate-store.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route opens a stream (always, or for the requests the function says): with the limits in Redis,
     * its request rate count also takes the stream's slot, in one round trip (redis-rate-store.ts).
     */
    opensStream?: true | ((request: FastifyRequest) => boolean)
  }
}

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
  streamSlots: StreamSlots | undefined,
) {
  if (config.RATE_LIMIT_MAX === 0) return
  const windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000)
  const maxOf = (request: FastifyRequest) =>
    request.apiKey?.limits?.requestsPerWindow ?? config.RATE_LIMIT_MAX
  const streams =
    redis && streamSlots instanceof RedisStreamSlots
      ? { slots: streamSlots, starts: new StreamStarts() }
      : undefined
  await app.register(fastifyRateLimit, {
    global: true,
    max: streams ? announcingStreams(streams.starts, maxOf) : maxOf,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    keyGenerator: clientOf,
    enableDraftSpec: true,
    // The failure policy decides: guardedRedisStore throws a 503 when it is `closed`.
    skipOnError: config.RATE_LIMIT_REDIS_FAILURE === 'open',
    ...(redis && { store: guardedRedisStore(redis.client, redis.failures, streams) }),
    errorResponseBuilder: (request, context) => {
      const per = request.apiKey ? 'this API key' : 'this client'
      const reason = `${context.max} requests per ${windowSeconds} s for ${per}; retry in ${context.after}`
      return new RateLimitedError('requests', reason, context.ttl)
    },
  })
}

/**
 * The rate limiter's `max` option, which also announces each request that opens a stream (with its
 * stream limit) to the store, so that its count takes the stream's slot too.
 */
function announcingStreams(starts: StreamStarts, maxOf: (request: FastifyRequest) => number) {
  return (request: FastifyRequest, client: string): number => {
    const opens = request.routeOptions.config.opensStream
    if (opens === true || opens?.(request)) {
      const quota = request.streamQuota
      if (quota) starts.announce(client, quota.limit)
    }
    return maxOf(request)
  }
}
