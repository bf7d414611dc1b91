import type {
  CallOptions,
  ChatProvider,
  GenerateRequest,
  GenerateResult,
  StreamPart,
} from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'
import type { StreamSession } from '../streaming/stream-session.js'
import type { OpenOptions, Streams } from '../streaming/streams.js'

/** Where a model runs: OpenAI's Responses API (or a compatible endpoint), or a local Ollama. */
export type ModelHost = 'openai' | 'ollama'

export interface ChatServiceOptions {
  /** One provider per host. */
  providers: Record<ModelHost, ChatProvider>
  /** The policy /safe answers under. */
  retry: RetryPolicy
  /** Opens streamed answers. */
  streams: Streams
}

/** Answers, whole or streamed: what every generating route asks for, whichever host runs the model. */
export class ChatService {
  readonly #options: ChatServiceOptions

  constructor(options: ChatServiceOptions) {
    this.#options = options
  }

  /** One whole answer, one upstream call. */
  answer(host: ModelHost, request: GenerateRequest, call: CallOptions): Promise<GenerateResult> {
    return this.#options.providers[host].generate(request, call)
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
  stream(
    host: ModelHost,
    request: GenerateRequest,
    call: CallOptions,
    options?: OpenOptions,
  ): Promise<StreamSession> {
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
}
