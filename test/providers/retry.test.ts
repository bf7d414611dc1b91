import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import {
  ClientClosedRequestError,
  ServiceUnavailableError,
  UpstreamBadRequestError,
  UpstreamRateLimitError,
  UpstreamUnavailableError,
} from '../../src/errors.js'
import { createRetryPolicy, type RetryPolicyOptions } from '../../src/providers/retry.js'

/** A policy whose waits are recorded instead of slept. */
function recordingPolicy(options: Partial<RetryPolicyOptions> = {}) {
  const waits: number[] = []
  const policy = createRetryPolicy({
    attempts: 4,
    minDelayMs: 100,
    maxDelayMs: 300,
    random: () => 0,
    sleep: async (milliseconds) => waits.push(milliseconds),
    ...options,
  })
  return { policy, waits }
}

/** An operation that fails with the given errors in turn, then answers 'ok'. */
function failing(...errors: Error[]) {
  let calls = 0
  const operation = async () => {
    const error = errors[calls++]
    if (error) throw error
    return 'ok'
  }
  return { operation, calls: () => calls }
}

const signal = new Cancellation().signal

describe('retry policy', () => {
  it('waits exponentially from the minimum delay, capped at the maximum', async () => {
    const { policy, waits } = recordingPolicy()
    const upstream = failing(
      new UpstreamUnavailableError(),
      new UpstreamUnavailableError(),
      new UpstreamUnavailableError(),
    )
    await expect(policy(upstream.operation, signal)).resolves.toBe('ok')
    expect(waits).toEqual([100, 200, 300])
    expect(upstream.calls()).toBe(4)
  })

  it('jitters each wait down by at most a quarter', async () => {
    const { policy, waits } = recordingPolicy({ random: () => 1 })
    const upstream = failing(new UpstreamUnavailableError(), new UpstreamUnavailableError())
    await policy(upstream.operation, signal)
    expect(waits).toEqual([75, 150])
  })

  it('honours the upstream Retry-After instead of the backoff, up to the maximum', async () => {
    const { policy, waits } = recordingPolicy()
    const upstream = failing(
      new UpstreamRateLimitError({ retryAfterMs: 40 }),
      new UpstreamRateLimitError({ retryAfterMs: 60_000 }),
    )
    await policy(upstream.operation, signal)
    expect(waits).toEqual([40, 300])
  })

  it('gives ServiceUnavailableError after exactly `attempts` retryable failures', async () => {
    const { policy, waits } = recordingPolicy({ attempts: 3 })
    const upstream = failing(...Array.from({ length: 5 }, () => new UpstreamUnavailableError()))
    await expect(policy(upstream.operation, signal)).rejects.toBeInstanceOf(ServiceUnavailableError)
    expect(upstream.calls()).toBe(3)
    expect(waits).toHaveLength(2)
  })

  it('does not retry an error that is not retryable, and rethrows it as it is', async () => {
    const { policy, waits } = recordingPolicy()
    const badRequest = new UpstreamBadRequestError('no temperature for you')
    const upstream = failing(badRequest)
    await expect(policy(upstream.operation, signal)).rejects.toBe(badRequest)
    expect(upstream.calls()).toBe(1)
    expect(waits).toEqual([])
  })

  it('does not retry a plain programming error', async () => {
    const { policy } = recordingPolicy()
    const upstream = failing(new RangeError('bug'))
    await expect(policy(upstream.operation, signal)).rejects.toBeInstanceOf(RangeError)
    expect(upstream.calls()).toBe(1)
  })

  it('stops waiting as soon as the signal is cancelled, with its reason, and makes no further attempt', async () => {
    const cancellation = new Cancellation()
    const policy = createRetryPolicy({ attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 })
    const upstream = failing(new UpstreamUnavailableError(), new UpstreamUnavailableError())
    const result = policy(async () => {
      // Cancel after the failed attempt's promise chain has settled: the policy is in its minute-long wait.
      setImmediate(() => cancellation.cancel(new ClientClosedRequestError()))
      return upstream.operation()
    }, cancellation.signal)
    await expect(result).rejects.toBeInstanceOf(ClientClosedRequestError)
    expect(upstream.calls()).toBe(1)
  })

  it('makes no attempt when the signal has already been cancelled', async () => {
    const cancellation = new Cancellation()
    const reason = new ClientClosedRequestError()
    cancellation.cancel(reason)
    const { policy } = recordingPolicy()
    const upstream = failing()
    await expect(policy(upstream.operation, cancellation.signal)).rejects.toBe(reason)
    expect(upstream.calls()).toBe(0)
  })
})
