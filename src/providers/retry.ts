import { setTimeout as sleep } from 'node:timers/promises'
import pRetry from 'p-retry'
import { AppError, ClientClosedRequestError, ServiceUnavailableError } from '../errors.js'

export interface RetryPolicyOptions {
  /** Total attempts, the first included. */
  attempts: number
  /** Delay before the first retry; doubles each time. */
  minDelayMs: number
  /** Upper bound on any delay, Retry-After included. */
  maxDelayMs: number
  /** Jitter source, replaceable in tests. */
  random?: () => number
  /** The wait itself, replaceable in tests; must reject when the signal fires. */
  sleep?: (milliseconds: number, signal: AbortSignal) => Promise<unknown>
}

export type RetryPolicy = <T>(operation: (attempt: number) => Promise<T>, signal: AbortSignal) => Promise<T>

/**
 * The one retry policy. p-retry runs the loop (attempt count, abort checks, which errors end it); the
 * wait is ours because p-retry cannot honour an upstream's Retry-After: exponential from minDelayMs with
 * up to 25% jitter below it, or the upstream's Retry-After, both capped at maxDelayMs.
 *
 * Rejects with the error itself when it is not retryable (or there was one attempt only),
 * ServiceUnavailableError when every one of several attempts failed with a retryable error, and
 * ClientClosedRequestError as soon as the signal fires.
 */
export function createRetryPolicy(options: RetryPolicyOptions): RetryPolicy {
  const random = options.random ?? Math.random
  const wait = options.sleep ?? ((milliseconds, signal) => sleep(milliseconds, undefined, { signal }))
  const delayBefore = (retry: number, error: AppError) => {
    if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, options.maxDelayMs)
    const exponential = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** (retry - 1))
    return Math.round(exponential * (1 - 0.25 * random()))
  }

  return async (operation, signal) => {
    try {
      return await pRetry(operation, {
        retries: options.attempts - 1,
        minTimeout: 0, // p-retry's own backoff is off; shouldRetry waits instead
        signal,
        shouldRetry: async ({ error, retriesConsumed }) => {
          if (!(error instanceof AppError) || !error.isRetryable) return false
          await wait(delayBefore(retriesConsumed + 1, error), signal)
          return true
        },
      })
    } catch (error) {
      if (signal.aborted) throw new ClientClosedRequestError({ cause: error })
      // With retries off (one attempt) the failure itself says more than "unavailable".
      if (error instanceof AppError && error.isRetryable && options.attempts > 1) {
        throw new ServiceUnavailableError({
          cause: error,
          logDetail: `retries exhausted: ${error.logDetail ?? error.message}`,
        })
      }
      throw error
    }
  }
}
