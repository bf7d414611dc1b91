import { LRUCache } from 'lru-cache'

/** A whole answer as the cache keeps it: no usage (serving it again spends no tokens). */
export interface StoredAnswer {
  text: string
  /** The model that answered, as the upstream named it. */
  model: string
  /** When it was stored, in ms of the cache's clock (for a request's `max-age`). */
  storedAt: number
}

/** Where cached answers live: in memory (below) or in Redis (plugins/cache/redis-answer-store.ts). */
export interface AnswerStore {
  /** The answer stored under `key` and not yet expired; undefined when there is none (or the store failed). */
  get(key: string): Promise<StoredAnswer | undefined>
  /** Stores an answer for the TTL; a failure is the store's to report, never the request's. */
  set(key: string, answer: StoredAnswer): void
}

export interface MemoryAnswerStoreOptions {
  ttlMs: number
  maxEntries: number
  /** Bound on the answers' size (UTF-16 text, two bytes a character); an answer larger than it is not kept. */
  maxBytes: number
  /** The clock TTLs are measured with, in ms; tests move it. */
  now: () => number
}

/**
 * Answers in this process's memory, with lru-cache (well kept, and it already bounds by count, by size
 * and by age, which is every bound the cache needs): the least recently used go first.
 */
export class MemoryAnswerStore implements AnswerStore {
  readonly #cache: LRUCache<string, StoredAnswer>

  constructor(options: MemoryAnswerStoreOptions) {
    this.#cache = new LRUCache({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (answer) => 2 * (answer.text.length + answer.model.length) + 64,
      ttl: options.ttlMs,
      // Every read asks the clock: lru-cache otherwise reuses one reading for 1 ms, and a test's clock jumps.
      ttlResolution: 0,
      perf: { now: options.now },
    })
  }

  /** How many answers are kept. */
  get size(): number {
    return this.#cache.size
  }

  get(key: string): Promise<StoredAnswer | undefined> {
    return Promise.resolve(this.#cache.get(key))
  }

  set(key: string, answer: StoredAnswer): void {
    this.#cache.set(key, answer)
  }
}
