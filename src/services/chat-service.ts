import { ContentPolicyError } from '../errors.js'
import type {
  CallOptions,
  ChatProvider,
  GenerateRequest,
  GenerateResult,
  StreamPart,
} from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'
import type { ContentPolicy, ModerationMeter } from '../streaming/content-policy.js'
import type { StreamSession } from '../streaming/stream-session.js'
import type { Streams } from '../streaming/streams.js'

/** Where a model runs: OpenAI's Responses API (or a compatible endpoint), or a local Ollama. */
export type ModelHost = 'openai' | 'ollama'

export interface ChatServiceOptions {
  /** One provider per host. */
  providers: Record<ModelHost, ChatProvider>
  /** The policy /safe answers under. */
  retry: RetryPolicy
  /** Opens streamed answers. */
  streams: Streams
  /** The rules whole answers must keep (README "Moderation"); undefined: answers are not checked. */
  outputPolicy?: { policy: ContentPolicy; meter?: ModerationMeter }
}

/** Answers, whole or streamed: what every generating route asks for, whichever host runs the model. */
export class ChatService {
  readonly #options: ChatServiceOptions

  constructor(options: ChatServiceOptions) {
    this.#options = options
  }

  /** One whole answer, one upstream call; an answer the output policy refuses is a ContentPolicyError. */
  answer(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    const answer = this.#options.providers[host].generate(request, call)
    const output = this.#options.outputPolicy
    return output ? answer.then((result) => withheldWhenRefused(result, output)) : answer
  }

  /** One whole answer under the retry policy: retryable failures are tried again. */
  answerWithRetry(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    // The attempt number lets a metered provider count retries; the first attempt allocates nothing.
    return this.#options.retry(
      (attempt) => this.answer(host, request, attempt === 1 ? call : { ...call, attempt }),
      call.signal,
    )
  }

  /** A streamed answer, resolved once the upstream's first part arrived; rejects with an AppError before. */
  stream(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<StreamSession> {
    return this.#options.streams.fromProvider(this.#options.providers[host], request, call)
  }

  /** A stream of parts known in advance: no model is called (e.g. no grounded answer exists). */
  streamFixed(parts: [StreamPart, ...StreamPart[]], call: CallOptions): Promise<StreamSession> {
    return this.#options.streams.fixed(parts, call)
  }
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
