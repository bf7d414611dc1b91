import type { CacheOutcome, CallOptions, GenerateResult, StreamedAnswer } from '../providers/provider.js'
import type { AnswerStore, StoredAnswer } from './answer-store.js'
import { type AnswerSubject, answerKey } from './cache-key.js'
import { cachePolicy } from './cache-policy.js'
import { Coalescer } from './coalescer.js'

export interface SharedAnswersOptions {
  /** The response cache; undefined: answers are only coalesced. */
  store?: AnswerStore
  /** The clock answers are stamped with (a request's max-age), in ms. */
  now: () => number
}

/** What the response cache has for a stream: its answer, or how to store the one the stream brings. */
export interface StreamCaching {
  /** The cached answer to serve instead of calling the upstream. */
  answer?: StoredAnswer
  /** Stores the streamed answer (CallOptions.onAnswer); undefined when the request said no-store. */
  record?: (answer: StreamedAnswer) => void
}

/** How an answer is fetched when the cache has none: one upstream call, or one under the retry policy. */
export type Fetch = (call: CallOptions) => Promise<GenerateResult>

/**
 * Whole answers shared between requests (README "Response cache and coalescing"): served from the
 * response cache when it holds them and the request allows it (`Cache-Control`), else fetched once for
 * every identical request in flight (coalescing) and stored. ChatService uses it only when the cache or
 * coalescing is configured: when both are off, no request goes through here.
 */
export class SharedAnswers {
  readonly #store: AnswerStore | undefined
  readonly #now: () => number
  readonly #inFlight = new Coalescer<GenerateResult>()

  constructor(options: SharedAnswersOptions) {
    this.#store = options.store
    this.#now = options.now
  }

  /** Callers waiting for a call in flight now, however many calls they share (tests). */
  get waiting(): number {
    return this.#inFlight.waiters
  }

  /**
   * The answer to `subject`: cached, joined or fetched. `mode` separates fetches that answer differently
   * for the same subject (one call, or retries) so they do not join each other's flights.
   */
  async answer(
    subject: AnswerSubject,
    mode: string,
    call: CallOptions,
    fetch: Fetch,
  ): Promise<GenerateResult> {
    const key = answerKey(subject)
    const store = this.#store
    const policy = store ? cachePolicy(call.cacheControl) : undefined
    if (store && policy) {
      const cached = policy.read ? await this.#read(store, key, policy.maxAgeMs) : undefined
      mark(call, cached ? 'hit' : policy.read ? 'miss' : 'bypass')
      if (cached) return { text: cached.text, model: cached.model }
    }
    const write = store && policy?.write ? store : undefined
    return this.#inFlight.run(`${mode}:${key}`, call.signal, async (signal) => {
      const result = await fetch({ ...call, signal })
      write?.set(key, { text: result.text, model: result.model, storedAt: this.#now() })
      return result
    })
  }

  /**
   * For a stream: the cached answer to `subject` when the request allows reading one (`answer`), else,
   * when it allows writing, `record`, which stores the streamed answer once it is whole. Streams are not
   * coalesced: each miss is its own upstream call.
   */
  async forStream(subject: AnswerSubject, call: CallOptions): Promise<StreamCaching> {
    const store = this.#store
    if (!store) return {}
    const key = answerKey(subject)
    const policy = cachePolicy(call.cacheControl)
    const answer = policy.read ? await this.#read(store, key, policy.maxAgeMs) : undefined
    mark(call, answer ? 'hit' : policy.read ? 'miss' : 'bypass')
    if (answer) return { answer }
    if (!policy.write) return {}
    const model = subject.request.model
    return {
      record: (streamed) =>
        store.set(key, { text: streamed.text, model: streamed.model ?? model, storedAt: this.#now() }),
    }
  }

  async #read(store: AnswerStore, key: string, maxAgeMs: number | undefined) {
    const cached = await store.get(key)
    if (cached === undefined || maxAgeMs === undefined) return cached
    return this.#now() - cached.storedAt <= maxAgeMs ? cached : undefined
  }
}

function mark(call: CallOptions, outcome: CacheOutcome): void {
  if (call.ledger) call.ledger.cache = outcome
}
