import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type AppError, UpstreamTimeoutError } from '../../src/errors.js'
import { deadlines } from '../../src/streaming/deadlines.js'
import { Pipeline, type RelayEvent, type StageContext } from '../../src/streaming/pipeline.js'
import { delta, RecordingSink } from './doubles.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

/** A started stream whose only stage is the deadlines, into a recording sink. */
function streamWithin(limits: { idleMs: number; totalMs: number }) {
  const failures: AppError[] = []
  const pipeline = new Pipeline([deadlines(limits)], (error) => failures.push(error))
  const sink = new RecordingSink()
  pipeline.attach(sink)
  pipeline.start()
  return { pipeline, sink, failures }
}

const part = (text: string): RelayEvent => ({ type: 'part', part: delta(text) })

describe('deadlines', () => {
  it('fails with UpstreamTimeoutError at totalMs after the start, while no part flows', async () => {
    const { sink, failures } = streamWithin({ idleMs: 50, totalMs: 500 })
    await vi.advanceTimersByTimeAsync(499)
    expect(failures).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toBeInstanceOf(UpstreamTimeoutError)
    expect(failures[0]?.logDetail).toBe('stream exceeded its total limit of 500 ms')
    expect(sink.events).toEqual([{ type: 'failure', error: failures[0] }])
  })

  it('fails at totalMs even while parts keep flowing within the idle limit', async () => {
    const { pipeline, sink, failures } = streamWithin({ idleMs: 100, totalMs: 500 })
    // The upstream answers every 50 ms: the stream is never idle for long.
    for (let elapsed = 0; elapsed < 500; elapsed += 50) {
      expect(failures).toEqual([])
      pipeline.waitingSince = performance.now()
      await vi.advanceTimersByTimeAsync(50)
      pipeline.waitingSince = undefined
      pipeline.push(part(String(elapsed)))
    }
    expect(failures).toHaveLength(1)
    expect(failures[0]?.logDetail).toBe('stream exceeded its total limit of 500 ms')
    expect(sink.events).toHaveLength(10)
    expect(sink.events.at(-1)).toEqual({ type: 'failure', error: failures[0] })
  })

  it('fails with UpstreamTimeoutError when the stream waits for the upstream for idleMs', async () => {
    const { pipeline, failures } = streamWithin({ idleMs: 100, totalMs: 10_000 })
    await vi.advanceTimersByTimeAsync(30)
    pipeline.waitingSince = performance.now()
    await vi.advanceTimersByTimeAsync(99)
    expect(failures).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toBeInstanceOf(UpstreamTimeoutError)
    expect(failures[0]?.logDetail).toBe('no upstream event between events within 100 ms')
  })

  it('measures the idle limit from the latest wait, not from an earlier one', async () => {
    const { pipeline, failures } = streamWithin({ idleMs: 100, totalMs: 10_000 })
    pipeline.waitingSince = performance.now()
    await vi.advanceTimersByTimeAsync(80)
    pipeline.waitingSince = undefined
    pipeline.push(part('a'))
    pipeline.waitingSince = performance.now()
    await vi.advanceTimersByTimeAsync(99)
    expect(failures).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(failures[0]?.logDetail).toBe('no upstream event between events within 100 ms')
  })

  it('never fails for idleness while the stream is not waiting for the upstream (the client is full)', async () => {
    const { failures } = streamWithin({ idleMs: 100, totalMs: 100_000 })
    await vi.advanceTimersByTimeAsync(50 * 100)
    expect(failures).toEqual([])
  })

  it('while the stream is not waiting, checks again only once per idleMs', () => {
    const began = performance.now()
    streamWithin({ idleMs: 100, totalMs: 100_000 })
    const checks: number[] = []
    for (let index = 0; index < 4; index++) {
      vi.advanceTimersToNextTimer()
      checks.push(performance.now() - began)
    }
    expect(checks).toEqual([100, 200, 300, 400])
  })

  it('keeps one timer, however many parts flow', async () => {
    const { pipeline } = streamWithin({ idleMs: 100, totalMs: 100_000 })
    for (let index = 0; index < 100; index++) {
      pipeline.waitingSince = performance.now()
      await vi.advanceTimersByTimeAsync(10)
      pipeline.waitingSince = undefined
      pipeline.push(part(String(index)))
    }
    expect(vi.getTimerCount()).toBe(1)
  })

  it('stops its timer on close: no failure comes after it', async () => {
    const fail = vi.fn()
    const context: StageContext = { emit: () => {}, fail, waitingSince: () => 0 }
    const stage = deadlines({ idleMs: 100, totalMs: 500 })
    stage.start?.(context)
    await vi.advanceTimersByTimeAsync(50)
    stage.close?.()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(fail).not.toHaveBeenCalled()
  })

  it('leaves no timer once the stream has ended', () => {
    const { pipeline } = streamWithin({ idleMs: 100, totalMs: 500 })
    expect(vi.getTimerCount()).toBe(1)
    pipeline.push({ type: 'part', part: { type: 'end', finishReason: 'stop' } })
    expect(vi.getTimerCount()).toBe(0)
  })
})
