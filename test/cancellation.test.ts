import { describe, expect, it } from 'vitest'
import { Cancellation, sleep } from '../src/cancellation.js'
import { ClientClosedRequestError, UpstreamTimeoutError } from '../src/errors.js'

describe('Cancellation', () => {
  it('cancels once: listeners hear it once and the first reason stays', () => {
    const cancellation = new Cancellation()
    const heard: unknown[] = []
    cancellation.signal.onCancel((reason) => heard.push(reason))
    expect(cancellation.signal.aborted).toBe(false)
    const first = new ClientClosedRequestError()
    cancellation.cancel(first)
    cancellation.cancel(new UpstreamTimeoutError())
    expect(heard).toEqual([first])
    expect(cancellation.signal.aborted).toBe(true)
    expect(cancellation.signal.reason).toBe(first)
  })

  it('calls a listener added after the cancellation at once, and a removed one never', () => {
    const cancellation = new Cancellation()
    const heard: string[] = []
    const remove = cancellation.signal.onCancel(() => heard.push('removed'))
    remove()
    cancellation.cancel(new ClientClosedRequestError())
    cancellation.signal.onCancel(() => heard.push('late'))
    expect(heard).toEqual(['late'])
  })

  it('follows its parent with the same reason, until released', () => {
    const parent = new Cancellation()
    const child = new Cancellation(parent.signal)
    const released = new Cancellation(parent.signal)
    released.release()
    const reason = new UpstreamTimeoutError()
    parent.cancel(reason)
    expect(child.signal.reason).toBe(reason)
    expect(released.signal.aborted).toBe(false)
    expect(parent.signal.listenerCount('abort')).toBe(0)
  })

  it('a child cancelled first stops listening to its parent', () => {
    const parent = new Cancellation()
    new Cancellation(parent.signal).cancel(new ClientClosedRequestError())
    expect(parent.signal.listenerCount('abort')).toBe(0)
  })

  it('ends a sleep with the reason, and refuses to start one when already cancelled', async () => {
    const cancellation = new Cancellation()
    const reason = new ClientClosedRequestError()
    const wait = sleep(60_000, cancellation.signal)
    cancellation.cancel(reason)
    await expect(wait).rejects.toBe(reason)
    await expect(sleep(1, cancellation.signal)).rejects.toBe(reason)
  })

  it('is the EventEmitter form of signal undici accepts, and an AbortSignal it is not', () => {
    const { signal } = new Cancellation()
    // @ts-expect-error: a CancelSignal must never reach an API that wants an AbortSignal (fetch).
    const misuse: AbortSignal = signal
    expect(misuse).not.toBeInstanceOf(AbortSignal)
    expect(typeof signal.once).toBe('function')
  })
})
