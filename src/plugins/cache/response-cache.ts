import type { FastifyInstance } from 'fastify'
import { type Config, responseCacheEnabled } from '../../config.js'
import { type AnswerStore, MemoryAnswerStore } from '../../services/answer-store.js'
import { SharedAnswers } from '../../services/shared-answers.js'
import type { SharedCounters } from '../limits/rate-limit.js'
import { RedisAnswerStore } from './redis-answer-store.js'

/**
 * The response cache and coalescing the config asks for (README "Response cache and coalescing"):
 * undefined when both are off, so ChatService calls the providers directly and no header is added.
 * With the cache on, answers live in Redis when REDIS_URL is set (shared by every instance), else in
 * memory; every reply of a route the cache serves says how in `x-cache` (`hit`, `miss`, `bypass`), and is
 * counted by outcome in the metrics.
 */
export function createSharedAnswers(
  app: FastifyInstance,
  config: Config,
  redis: SharedCounters | undefined,
  now: () => number,
): SharedAnswers | undefined {
  const cacheOn = responseCacheEnabled(config)
  if (!cacheOn && !config.COALESCE) return undefined
  let store: AnswerStore | undefined
  if (cacheOn) {
    store = redis
      ? new RedisAnswerStore(redis.client, redis.failures, config.CACHE_TTL_MS)
      : new MemoryAnswerStore({
          ttlMs: config.CACHE_TTL_MS,
          maxEntries: config.CACHE_MAX_ENTRIES,
          maxBytes: config.CACHE_MAX_BYTES,
          now,
        })
    app.replyDecorations.add((reply) => {
      const outcome = reply.request.ledger?.cache
      if (outcome === undefined) return
      reply.header('x-cache', outcome)
      app.metrics.countCacheOutcome(outcome)
    })
  }
  return new SharedAnswers({ store, now })
}
