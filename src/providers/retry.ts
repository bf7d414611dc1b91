import { type CancelSignal, sleep } from '../cancellation.js'
import { AppError, ServiceUnavailableError } from '../errors.js'

export interface RetryPolicyOptions {
  /** Total attempts, the first included. */
  attempts: number
  /** Delay before the first retry; doubles each time. */
  minDelayMs: number
  /** Upper bound on any delay, Retry-After included. */
  maxDelayMs: number
  /** Jitter source, replaceable in tests. */
  random?: () => number
  /** The wait itself, replaceable in tests; must reject with the signal's reason when it is cancelled. */
  sleep?: (milliseconds: number, signal: CancelSignal) => Promise<unknown>
}

export type RetryPolicy = <T>(operation: (attempt: number) => Promise<T>, signal: CancelSignal) => Promise<T>

/**
 * The one retry policy: exponential backoff from minDelayMs with up to 25 % jitter below it, or the
 * upstream's Retry-After when it sent one, both capped at maxDelayMs; only retryable errors are retried.
 *
 * A loop of its own, not p-retry: p-retry 7 (the last for Node 20) computes each delay from the attempt
 * number alone, so honouring Retry-After meant turning its backoff off and sleeping inside its
 * `shouldRetry` hook, leaving it only a counter of attempts.
 *
 * Rejects with the error itself when it is not retryable (or there was one attempt only),
 * ServiceUnavailableError when every one of several attempts failed with a retryable error, and the
 * signal's reason as soon as it is cancelled.
 */
export function createRetryPolicy(options: RetryPolicyOptions): RetryPolicy {
  const random = options.random ?? Math.random
  const wait = options.sleep ?? sleep
  const delayBefore = (retry: number, error: AppError) => {
    if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, options.maxDelayMs)
    const exponential = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** (retry - 1))
    return Math.round(exponential * (1 - 0.25 * random()))
  }

  return async (operation, signal) => {
    for (let attempt = 1; ; attempt++) {
      if (signal.reason) throw signal.reason
      try {
        return await operation(attempt)
      } catch (error) {
        if (signal.reason) throw signal.reason
        if (!(error instanceof AppError) || !error.isRetryable) throw error
        if (attempt >= options.attempts) {
          // With retries off (one attempt) the failure itself says more than "unavailable".
          if (options.attempts === 1) throw error
          throw new ServiceUnavailableError({
            cause: error,
            logDetail: `retries exhausted: ${error.logDetail ?? error.message}`,
          })
        }
        await wait(delayBefore(attempt, error), signal)
      }
    }
  }
}
