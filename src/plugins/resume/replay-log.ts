import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../../config.js'
import { MemoryReplayLog } from '../../streaming/memory-replay-log.js'
import type { ResumptionOptions } from '../../streaming/resumption.js'
import { connectRedis } from '../limits/redis-client.js'
import { RedisFailures } from '../limits/redis-failures.js'
import type { ServiceMeters } from '../metrics/index.js'
import { RedisReplayLog } from './redis-replay-log.js'

/**
 * The replay log of resumable streams (README "Resumable streams"): in memory on this instance, or with
 * REDIS_URL in Redis, shared by every instance (on the limits' client when they have one, else on a client
 * of its own made the same way). Undefined with STREAM_RESUME=false: no log, no stage, no route. Closed
 * when the app closes.
 */
export async function createReplayLog(
  app: FastifyInstance,
  config: Config,
  meters: ServiceMeters | undefined,
  limitsRedis: Redis | undefined,
): Promise<Omit<ResumptionOptions, 'graceMs'> | undefined> {
  if (!config.STREAM_RESUME) return undefined
  const local = new MemoryReplayLog({
    retentionMs: config.STREAM_RESUME_RETENTION_MS,
    maxBytesPerStream: config.STREAM_RESUME_MAX_BYTES_PER_STREAM,
    maxBytes: config.STREAM_RESUME_MAX_BYTES,
    onEvicted: meters?.replayEvictions,
  })
  if (!config.REDIS_URL) {
    app.addHook('onClose', () => local.close())
    return { log: local, shared: false }
  }
  const failures = new RedisFailures(app.log, 'open')
  const redis = limitsRedis ?? (await connectRedis(app, config.REDIS_URL, failures))
  const log = new RedisReplayLog({
    redis,
    local,
    retentionMs: config.STREAM_RESUME_RETENTION_MS,
    maxLifeMs: config.STREAM_TOTAL_TIMEOUT_MS,
    maxBytesPerStream: config.STREAM_RESUME_MAX_BYTES_PER_STREAM,
    warn: (error, message) => failures.warn(error, message),
  })
  // Its own connections (followers' blocking reads, the cancellation subscriber); the client's QUIT, queued
  // after the last XADDs, lets them reach Redis.
  app.addHook('onClose', () => log.close())
  return { log, shared: true }
}
