import { Cancellation, type CancelSignal } from '../cancellation.js'
import {
  ServiceUnavailableError,
  UpstreamRateLimitError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import {
  type ChatProvider,
  type GenerateRequest,
  type StreamPart,
  timed,
  type UpstreamTiming,
} from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'

/** An upstream answer that has begun: its first part, and the rest to read. */
export interface StartedSource {
  first: StreamPart
  rest: AsyncIterator<StreamPart>
  /** Stops following the stream's cancellation once the stream is over. */
  release(): void
}

/** Starts a stream's upstream; rejects with an AppError when it cannot, cancelled through `signal`. */
export type SourceOpener = (signal: CancelSignal) => Promise<StartedSource>

export interface ProviderSourceOptions {
  provider: ChatProvider
  request: GenerateRequest
  /** Our request id, forwarded upstream. */
  requestId: string
  /** Receives the time spent waiting for the first part (the Server-Timing header's "upstream"). */
  timing?: UpstreamTiming
  /** The request's API key name, passed on to the provider (token counts). */
  apiKeyName?: string
  retry: RetryPolicy
  /** Longest wait for the first part, per attempt. */
  firstEventMs: number
}

/**
 * A provider's stream, attempted under the retry policy until one attempt yields its first part. An
 * attempt whose first part does not come within `firstEventMs` is cancelled (its request aborted) and
 * counts as a retryable timeout. Nothing has reached the client before the first part, so a retry is
 * invisible to it; after it, nothing is retried. Retries spent on a provider that rate limits us are a
 * 429 (rateLimitedWhenThrottled), not the 503 of an outage.
 */
export function providerSource(options: ProviderSourceOptions): SourceOpener {
  const { provider, request, requestId, timing, apiKeyName, retry, firstEventMs } = options
  return (signal) =>
    retry(async (number) => {
      const attempt = new Cancellation(signal)
      const call = { signal: attempt.signal, requestId, timing, apiKeyName, attempt: number }
      const rest = provider.stream(request, call)[Symbol.asyncIterator]()
      const timer = setTimeout(() => {
        const logDetail = `no upstream event for the first event within ${firstEventMs} ms`
        attempt.cancel(new UpstreamTimeoutError({ logDetail }))
      }, firstEventMs)
      let result: IteratorResult<StreamPart>
      try {
        result = await timed(call, () => rest.next())
      } catch (error) {
        attempt.release()
        throw attempt.signal.reason ?? error
      } finally {
        clearTimeout(timer)
      }
      if (attempt.signal.reason) throw attempt.signal.reason
      if (result.done) {
        attempt.release()
        throw new UpstreamUnavailableError({ logDetail: 'upstream stream ended before its first event' })
      }
      return { first: result.value, rest, release: () => attempt.release() }
    }, signal).catch((error: unknown) => {
      throw rateLimitedWhenThrottled(error)
    })
}

/** The Retry-After of a stream refused for the provider's 429s when the provider named none. */
export const THROTTLED_RETRY_AFTER_MS = 1_000

/**
 * Retries exhausted because the provider's last answer was a 429: the client is being rate limited, not
 * facing an outage, and nothing has been sent yet, so the stream answers 429 with the provider's
 * Retry-After (or THROTTLED_RETRY_AFTER_MS). /safe keeps its 503: that contract is the chapter's.
 */
export function rateLimitedWhenThrottled(error: unknown): unknown {
  if (!(error instanceof ServiceUnavailableError)) return error
  const last = error.cause
  if (!(last instanceof UpstreamRateLimitError)) return error
  return new UpstreamRateLimitError({
    cause: error,
    retryAfterMs: last.retryAfterMs ?? THROTTLED_RETRY_AFTER_MS,
    logDetail: error.logDetail,
  })
}

/** A stream that is whole before it starts (e.g. /rag's answer when nothing relevant was found). */
export function fixedSource(...parts: [StreamPart, ...StreamPart[]]): SourceOpener {
  const [first, ...others] = parts
  async function* rest() {
    yield* others
  }
  return async () => ({ first, rest: rest(), release() {} })
}
