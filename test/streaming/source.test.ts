import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import {
  ClientClosedRequestError,
  ServiceUnavailableError,
  UpstreamBadRequestError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/errors.js'
import type { StreamPart, UpstreamTiming } from '../../src/providers/provider.js'
import { createRetryPolicy } from '../../src/providers/retry.js'
import { fixedSource, providerSource } from '../../src/streaming/source.js'
import { delta, end, InMemoryProvider, pause, request, type Step, stall, start } from './doubles.js'

const FIRST_EVENT_MS = 100

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

/** A provider source over these scripts (one per attempt), under a policy of `attempts` whose waits are recorded. */
function sourceOf(attempts: number, scripts: Step[][], timing?: UpstreamTiming) {
  const provider = new InMemoryProvider(...scripts)
  const waits: number[] = []
  const retry = createRetryPolicy({
    attempts,
    minDelayMs: 10,
    maxDelayMs: 10,
    random: () => 0,
    sleep: async (milliseconds, signal) => {
      if (signal.reason) throw signal.reason
      waits.push(milliseconds)
    },
  })
  const open = providerSource({
    provider,
    request,
    requestId: 'request-1',
    timing,
    retry,
    firstEventMs: FIRST_EVENT_MS,
  })
  return { provider, open, waits }
}

async function readAll(rest: AsyncIterator<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = []
  for (let result = await rest.next(); !result.done; result = await rest.next()) parts.push(result.value)
  return parts
}

describe('providerSource', () => {
  it('resolves with the first part, and the rest reads the parts after it', async () => {
    const { provider, open } = sourceOf(1, [[start(), delta('Hi'), end()]])
    const source = await open(new Cancellation().signal)
    expect(source.first).toEqual(start())
    expect(await readAll(source.rest)).toEqual([delta('Hi'), end()])
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]?.requestId).toBe('request-1')
  })

  it('retries a retryable failure before the first part, and resolves with the next attempt’s first part', async () => {
    const { provider, open, waits } = sourceOf(3, [
      [{ throws: new UpstreamUnavailableError() }],
      [start('second attempt'), end()],
    ])
    const source = await open(new Cancellation().signal)
    expect(source.first).toEqual(start('second attempt'))
    expect(await readAll(source.rest)).toEqual([end()])
    expect(provider.calls).toHaveLength(2)
    expect(waits).toEqual([10])
  })

  it('rejects with a failure that is not retryable, after one attempt', async () => {
    const error = new UpstreamBadRequestError('bad temperature')
    const { provider, open } = sourceOf(3, [[{ throws: error }], [start()]])
    await expect(open(new Cancellation().signal)).rejects.toBe(error)
    expect(provider.calls).toHaveLength(1)
  })

  it('cancels an attempt with no first part within firstEventMs with UpstreamTimeoutError, and retries', async () => {
    const { provider, open } = sourceOf(2, [[stall], [start('second attempt')]])
    const opening = open(new Cancellation().signal)
    await vi.advanceTimersByTimeAsync(FIRST_EVENT_MS - 1)
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]?.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls[0]?.signal.reason).toBeInstanceOf(UpstreamTimeoutError)
    expect(provider.calls[0]?.signal.reason?.logDetail).toBe(
      `no upstream event for the first event within ${FIRST_EVENT_MS} ms`,
    )
    expect((await opening).first).toEqual(start('second attempt'))
    expect(provider.calls).toHaveLength(2)
    expect(provider.calls[1]?.signal.aborted).toBe(false)
  })

  it('counts an attempt that throws once cancelled for its first-event limit as that timeout', async () => {
    const aborted = new Error('This operation was aborted')
    const { provider, open } = sourceOf(1, [[{ abortsWith: aborted }]])
    const opening = expect(open(new Cancellation().signal)).rejects.toBeInstanceOf(UpstreamTimeoutError)
    await vi.advanceTimersByTimeAsync(FIRST_EVENT_MS)
    await opening
    expect(provider.finished).toBe(1)
  })

  it('with one attempt only, rejects with UpstreamTimeoutError when no first part comes in time', async () => {
    const { provider, open } = sourceOf(1, [[stall]])
    const opening = expect(open(new Cancellation().signal)).rejects.toBeInstanceOf(UpstreamTimeoutError)
    await vi.advanceTimersByTimeAsync(FIRST_EVENT_MS)
    await opening
    expect(provider.calls).toHaveLength(1)
  })

  it('with several attempts, rejects with ServiceUnavailableError when none has a first part in time', async () => {
    const { provider, open } = sourceOf(3, [[stall], [stall], [stall]])
    const opening = expect(open(new Cancellation().signal)).rejects.toBeInstanceOf(ServiceUnavailableError)
    await vi.advanceTimersByTimeAsync(3 * FIRST_EVENT_MS)
    await opening
    expect(provider.calls.map((call) => call.signal.reason?.constructor)).toEqual([
      UpstreamTimeoutError,
      UpstreamTimeoutError,
      UpstreamTimeoutError,
    ])
  })

  it('rejects with UpstreamUnavailableError when the upstream ends before its first part', async () => {
    const { open } = sourceOf(1, [[]])
    const opening = open(new Cancellation().signal)
    await expect(opening).rejects.toBeInstanceOf(UpstreamUnavailableError)
    await expect(opening).rejects.toMatchObject({
      logDetail: 'upstream stream ended before its first event',
    })
  })

  it('rejects with the reason when the stream’s signal is cancelled during an attempt, and cancels the attempt', async () => {
    const { provider, open } = sourceOf(3, [[stall], [start()]])
    const session = new Cancellation()
    const opening = open(session.signal)
    await vi.advanceTimersByTimeAsync(FIRST_EVENT_MS / 2)
    const reason = new ClientClosedRequestError()
    session.cancel(reason)
    await expect(opening).rejects.toBe(reason)
    expect(provider.calls[0]?.signal.reason).toBe(reason)
    expect(provider.calls).toHaveLength(1)
    expect(provider.finished).toBe(1)
  })

  it('stops the first-event limit at the first part', async () => {
    const { provider, open } = sourceOf(1, [[start(), stall]])
    await open(new Cancellation().signal)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(10 * FIRST_EVENT_MS)
    expect(provider.calls[0]?.signal.aborted).toBe(false)
  })

  it('keeps the started upstream following the stream’s signal', async () => {
    const { provider, open } = sourceOf(1, [[start(), stall]])
    const session = new Cancellation()
    await open(session.signal)
    const reason = new ClientClosedRequestError()
    session.cancel(reason)
    expect(provider.calls[0]?.signal.reason).toBe(reason)
  })

  it('stops the started upstream following the stream’s signal once released', async () => {
    const { provider, open } = sourceOf(1, [[start(), stall]])
    const session = new Cancellation()
    const source = await open(session.signal)
    source.release()
    session.cancel(new ClientClosedRequestError())
    expect(provider.calls[0]?.signal.aborted).toBe(false)
    expect(session.signal.listenerCount('abort')).toBe(0)
  })

  it('adds every attempt’s wait for its first part to the upstream timing', async () => {
    const timing = { upstreamMs: 0 }
    const { open } = sourceOf(
      2,
      [
        [pause(40), { throws: new UpstreamUnavailableError() }],
        [pause(60), start()],
      ],
      timing,
    )
    const opening = open(new Cancellation().signal)
    await vi.advanceTimersByTimeAsync(100)
    await opening
    expect(timing.upstreamMs).toBe(100)
  })
})

describe('fixedSource', () => {
  it('resolves with its first part and yields the others, without any provider', async () => {
    const open = fixedSource(start(), delta('Nothing relevant was found.'), end())
    const source = await open(new Cancellation().signal)
    expect(source.first).toEqual(start())
    expect(await readAll(source.rest)).toEqual([delta('Nothing relevant was found.'), end()])
    expect(() => source.release()).not.toThrow()
  })
})
