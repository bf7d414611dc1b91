import type { FastifyInstance, FastifyReply } from 'fastify'
import { type Config, responseCacheEnabled } from '../../config.js'
import { type AnswerStore, MemoryAnswerStore } from '../../services/answer-store.js'
import { SharedAnswers } from '../../services/shared-answers.js'
import type { SharedCounters } from '../limits/rate-limit.js'
import { RedisAnswerStore } from './redis-answer-store.js'

/**
 * The response cache and coalescing the config asks for (README "Response cache and coalescing"):
 * undefined when both are off, so ChatService calls the providers directly and no header is added.
 * With the cache on, answers live in Redis when REDIS_URL is set (shared by every instance), else in
 * memory; every reply of a route the cache serves says how in `x-cache`.
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
    app.replyDecorations.add(cacheHeader)
  }
  return new SharedAnswers({ store, now })
}

/** `x-cache: hit|miss|bypass` on the replies whose request the cache looked at. */
function cacheHeader(reply: FastifyReply): void {
  const outcome = reply.request.ledger?.cache
  if (outcome !== undefined) reply.header('x-cache', outcome)
}
