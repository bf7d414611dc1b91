import { describe, expect, it } from 'vitest'
import { Cancellation, type CancelSignal } from '../../src/cancellation.js'
import { ClientClosedRequestError, UpstreamUnavailableError } from '../../src/errors.js'
import { Coalescer } from '../../src/services/coalescer.js'

/** Work the test settles by hand, counting its starts and keeping the signal each start was given. */
function controlledWork<T>() {
  const signals: CancelSignal[] = []
  let settle: { resolve: (value: T) => void; reject: (error: unknown) => void } | undefined
  const work = (signal: CancelSignal) => {
    signals.push(signal)
    return new Promise<T>((resolve, reject) => {
      settle = { resolve, reject }
    })
  }
  return {
    work,
    signals,
    resolve: (value: T) => settle?.resolve(value),
    reject: (error: unknown) => settle?.reject(error),
  }
}

const neverCancelled = () => new Cancellation().signal
const started = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Coalescer', () => {
  it('runs the work once for 50 identical callers in flight, and gives each of them its value', async () => {
    const coalescer = new Coalescer<string>()
    const upstream = controlledWork<string>()
    const waiting = Array.from({ length: 50 }, () => coalescer.run('key', neverCancelled(), upstream.work))
    await started()
    upstream.resolve('the answer')
    expect(await Promise.all(waiting)).toEqual(Array(50).fill('the answer'))
    expect(upstream.signals).toHaveLength(1)
    expect(coalescer.size).toBe(0)
  })

  it('runs different keys apart', async () => {
    const coalescer = new Coalescer<string>()
    const first = controlledWork<string>()
    const second = controlledWork<string>()
    const answers = [
      coalescer.run('a', neverCancelled(), first.work),
      coalescer.run('b', neverCancelled(), second.work),
    ]
    await started()
    first.resolve('A')
    second.resolve('B')
    expect(await Promise.all(answers)).toEqual(['A', 'B'])
  })

  it('gives every waiter the failure, then runs the work again for the next caller', async () => {
    const coalescer = new Coalescer<string>()
    const upstream = controlledWork<string>()
    const failure = new UpstreamUnavailableError()
    const waiting = [1, 2, 3].map(() => coalescer.run('key', neverCancelled(), upstream.work))
    await started()
    upstream.reject(failure)
    const outcomes = await Promise.allSettled(waiting)
    expect(outcomes).toEqual(Array(3).fill({ status: 'rejected', reason: failure }))
    const retry = coalescer.run('key', neverCancelled(), upstream.work)
    await started()
    upstream.resolve('second time')
    expect(await retry).toBe('second time')
    expect(upstream.signals).toHaveLength(2)
  })

  it('lets a waiter leave without cancelling the work the others still wait for', async () => {
    const coalescer = new Coalescer<string>()
    const upstream = controlledWork<string>()
    const leaving = new Cancellation()
    const left = coalescer.run('key', leaving.signal, upstream.work)
    const staying = coalescer.run('key', neverCancelled(), upstream.work)
    await started()
    const reason = new ClientClosedRequestError()
    leaving.cancel(reason)
    await expect(left).rejects.toBe(reason)
    expect(upstream.signals[0]?.aborted).toBe(false)
    upstream.resolve('kept')
    expect(await staying).toBe('kept')
  })

  it('cancels the work when its last waiter leaves, and starts afresh for the next caller', async () => {
    const coalescer = new Coalescer<string>()
    const upstream = controlledWork<string>()
    const clients = [new Cancellation(), new Cancellation()]
    const waiting = clients.map((client) => coalescer.run('key', client.signal, upstream.work))
    await started()
    for (const client of clients) client.cancel(new ClientClosedRequestError())
    await Promise.allSettled(waiting)
    expect(upstream.signals[0]?.reason).toBeInstanceOf(ClientClosedRequestError)
    expect(coalescer.size).toBe(0)
    const next = coalescer.run('key', neverCancelled(), upstream.work)
    await started()
    upstream.resolve('fresh')
    expect(await next).toBe('fresh')
    expect(upstream.signals).toHaveLength(2)
  })

  it('refuses a caller whose signal is already cancelled without starting anything', async () => {
    const coalescer = new Coalescer<string>()
    const upstream = controlledWork<string>()
    const gone = new Cancellation()
    gone.cancel(new ClientClosedRequestError())
    await expect(coalescer.run('key', gone.signal, upstream.work)).rejects.toBeInstanceOf(
      ClientClosedRequestError,
    )
    expect(upstream.signals).toHaveLength(0)
  })
})
