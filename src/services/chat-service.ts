import { ContentPolicyError } from '../errors.js'
import { ollamaAnswerParts } from '../providers/ollama.js'
import {
  type CallOptions,
  type ChatProvider,
  type GenerateRequest,
  type GenerateResult,
  recordUsage,
  type StreamPart,
} from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'
import type { ContentPolicy, ModerationMeter } from '../streaming/content-policy.js'
import type { StreamSession } from '../streaming/stream-session.js'
import type { OpenOptions, Streams } from '../streaming/streams.js'
import type { StoredAnswer } from './answer-store.js'
import type { SharedAnswers } from './shared-answers.js'

/** Where a model runs: OpenAI's Responses API (or a compatible endpoint), or a local Ollama. */
export type ModelHost = 'openai' | 'ollama'

export interface ChatServiceOptions {
  /** One provider per host. */
  providers: Record<ModelHost, ChatProvider>
  /** The policy /safe answers under. */
  retry: RetryPolicy
  /** Opens streamed answers. */
  streams: Streams
  /** The response cache and coalescing; undefined when both are off (calls go straight upstream). */
  shared?: SharedAnswers
  /** The rules whole answers must keep (README "Moderation"); undefined: answers are not checked. */
  outputPolicy?: { policy: ContentPolicy; meter?: ModerationMeter }
}

/** Answers, whole or streamed: what every generating route asks for, whichever host runs the model. */
export class ChatService {
  readonly #options: ChatServiceOptions

  constructor(options: ChatServiceOptions) {
    this.#options = options
  }

  /** The response cache and coalescing, when on. */
  get shared(): SharedAnswers | undefined {
    return this.#options.shared
  }

  /**
   * One whole answer: one upstream call, unless the cache holds it or an identical call is in flight. An
   * answer the output policy refuses is a ContentPolicyError.
   */
  answer(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    const shared = this.#options.shared
    if (!shared) return this.#checked(this.#generate(host, request, call))
    const subject = { host, request, scope: call.cacheScope }
    return this.#checked(
      shared.answer(subject, 'once', call, (sharedCall) => this.#generate(host, request, sharedCall)),
    )
  }

  /** One whole answer under the retry policy: retryable failures are tried again. */
  answerWithRetry(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    const shared = this.#options.shared
    if (!shared) return this.#checked(this.#generateWithRetry(host, request, call))
    const subject = { host, request, scope: call.cacheScope }
    return this.#checked(
      shared.answer(subject, 'retried', call, (sharedCall) =>
        this.#generateWithRetry(host, request, sharedCall),
      ),
    )
  }

  /**
   * A streamed answer, resolved once the upstream's first part arrived; rejects with an AppError before.
   * With the response cache on, an answer it holds is served as the same frames, and no upstream is called;
   * else the streamed answer is stored once whole (unless the request said no-store).
   */
  stream(
    host: ModelHost,
    request: GenerateRequest,
    call: CallOptions,
    options?: OpenOptions,
  ): Promise<StreamSession> {
    const shared = this.#options.shared
    if (shared) return this.#streamCached(shared, host, request, call, options)
    return this.#options.streams.fromProvider(this.#options.providers[host], request, call, options)
  }

  /** A stream of parts known in advance: no model is called (e.g. no grounded answer exists). */
  streamFixed(
    parts: [StreamPart, ...StreamPart[]],
    call: CallOptions,
    options?: OpenOptions,
  ): Promise<StreamSession> {
    return this.#options.streams.fixed(parts, call, options)
  }

  /** The answer, checked whole by the output policy when one is configured (cached answers too). */
  #checked(answer: Promise<GenerateResult>): Promise<GenerateResult> {
    const output = this.#options.outputPolicy
    return output ? answer.then((result) => withheldWhenRefused(result, output)) : answer
  }

  async #streamCached(
    shared: SharedAnswers,
    host: ModelHost,
    request: GenerateRequest,
    call: CallOptions,
    options: OpenOptions | undefined,
  ) {
    const { answer, record } = await shared.forStream({ host, request, scope: call.cacheScope }, call)
    if (answer) return this.#options.streams.fixed(partsOf(host, request, answer), call, options)
    const recorded = record ? { ...call, onAnswer: record } : call
    return this.#options.streams.fromProvider(this.#options.providers[host], request, recorded, options)
  }

  async #generate(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    const result = await this.#options.providers[host].generate(request, call)
    if (result.usage && call.ledger) recordUsage(call.ledger, result.usage)
    return result
  }

  #generateWithRetry(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    // The attempt number lets a metered provider count retries; the first attempt allocates nothing.
    return this.#options.retry(
      (attempt) => this.#generate(host, request, attempt === 1 ? call : { ...call, attempt }),
      call.signal,
    )
  }
}

/**
 * A cached answer as a stream's parts: what the upstream's stream would have been, in one text delta.
 * Ollama's carry the lines /local-stream relays; the end carries no usage (no tokens were spent).
 */
function partsOf(
  host: ModelHost,
  request: GenerateRequest,
  answer: StoredAnswer,
): [StreamPart, ...StreamPart[]] {
  if (host === 'ollama') return ollamaAnswerParts(request, answer, new Date(answer.storedAt))
  return [
    { type: 'start', model: answer.model },
    { type: 'text-delta', text: answer.text },
    { type: 'end', finishReason: 'stop' },
  ]
}

/** The answer, checked whole: one that breaks a rule is not sent (422, README "Moderation"). */
function withheldWhenRefused(
  result: GenerateResult,
  output: NonNullable<ChatServiceOptions['outputPolicy']>,
): GenerateResult {
  const rule = output.policy.find(result.text)
  if (rule === undefined) return result
  output.meter?.blocked(rule, 'output')
  throw ContentPolicyError.output(rule)
}
