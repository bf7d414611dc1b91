import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { Cancellation } from '../src/cancellation.js'

describe('Cancellation', () => {
  it('aborts once: listeners and onabort fire once, the first reason stays', () => {
    const cancellation = new Cancellation()
    const heard: unknown[] = []
    cancellation.signal.addEventListener('abort', () => heard.push('listener'))
    cancellation.signal.onabort = () => heard.push('onabort')
    expect(cancellation.signal.aborted).toBe(false)
    expect(() => cancellation.signal.throwIfAborted()).not.toThrow()
    const first = new Error('client left')
    cancellation.abort(first)
    cancellation.abort(new Error('again'))
    expect(heard).toEqual(['onabort', 'listener'])
    expect(cancellation.signal.aborted).toBe(true)
    expect(cancellation.signal.reason).toBe(first)
    expect(() => cancellation.signal.throwIfAborted()).toThrow(first)
  })

  it('without a reason, the reason is an AbortError as with AbortController', () => {
    const cancellation = new Cancellation()
    cancellation.abort()
    expect(cancellation.signal.reason).toBeInstanceOf(DOMException)
    expect((cancellation.signal.reason as DOMException).name).toBe('AbortError')
  })

  it("ends Node's abortable timers, as the retry wait uses them", async () => {
    const cancellation = new Cancellation()
    const reason = new Error('stop waiting')
    const wait = sleep(10_000, undefined, { signal: cancellation.signal })
    cancellation.abort(reason)
    await expect(wait).rejects.toMatchObject({ name: 'AbortError', cause: reason })
    await expect(sleep(1, undefined, { signal: cancellation.signal })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })
})
