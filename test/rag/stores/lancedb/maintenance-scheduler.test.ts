import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MaintenanceScheduler } from '../../../../src/rag/stores/lancedb/maintenance-scheduler.js'
import { gatedWork } from '../../../gated-work.js'

/** A quiet time of `delayMs` and a ceiling far beyond any test's writes unless given. */
const timing = (delayMs: number, maxDeferralMs = 1_000_000) => ({ delayMs, maxDeferralMs })

describe('MaintenanceScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('runs the work once writes have been quiet for the delay', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(100), work)
    scheduler.schedule()
    await vi.advanceTimersByTimeAsync(99)
    expect(work).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(work).toHaveBeenCalledTimes(1)
  })

  it('restarts the wait on every write, so a burst of writes gets one run', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(100), work)
    for (let write = 0; write < 5; write++) {
      scheduler.schedule()
      await vi.advanceTimersByTimeAsync(60)
    }
    expect(work).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(40)
    expect(work).toHaveBeenCalledTimes(1)
  })

  it('runs by the ceiling after the first write however steadily writes keep coming', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(100, 250), work)
    // A write every 60 ms: the quiet time alone would never pass.
    for (let write = 0; write < 5; write++) {
      scheduler.schedule()
      await vi.advanceTimersByTimeAsync(60)
    }
    // 300 ms after the first write: the run came at 250.
    expect(work).toHaveBeenCalledTimes(1)
  })

  it('counts the ceiling again from the first write after a run', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(100, 250), work)
    for (let write = 0; write < 10; write++) {
      scheduler.schedule()
      await vi.advanceTimersByTimeAsync(60)
    }
    // Writes at 0, 60, ..., 540: runs at 250 (first write 0) and 550 (first write after it: 300).
    expect(work).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(100)
    expect(work).toHaveBeenCalledTimes(2)
  })

  it('schedules nothing with a delay of 0, and still runs when asked', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(0), work)
    scheduler.schedule()
    expect(vi.getTimerCount()).toBe(0)
    await scheduler.run()
    expect(work).toHaveBeenCalledTimes(1)
  })

  it('starts a run only once the run before it has ended', async () => {
    const order: string[] = []
    const first = gatedWork('first', order)
    const second = gatedWork('second', order)
    const work = vi.fn().mockImplementationOnce(first.work).mockImplementationOnce(second.work)
    const scheduler = new MaintenanceScheduler(timing(0), work)
    const runs = [scheduler.run(), scheduler.run()]
    first.open()
    second.open()
    await Promise.all(runs)
    expect(order).toEqual(['first starts', 'first ends', 'second starts', 'second ends'])
  })

  it('drops a pending run when closed', async () => {
    const work = vi.fn(async () => {})
    const scheduler = new MaintenanceScheduler(timing(100), work)
    scheduler.schedule()
    await scheduler.close()
    expect(vi.getTimerCount()).toBe(0)
    await vi.runAllTimersAsync()
    expect(work).not.toHaveBeenCalled()
  })

  it('closes only once the run in progress has ended', async () => {
    const order: string[] = []
    const running = gatedWork('run', order)
    const scheduler = new MaintenanceScheduler(timing(0), async () => {
      await running.work()
    })
    const run = scheduler.run()
    const closed = scheduler.close().then(() => order.push('closed'))
    running.open()
    await Promise.all([run, closed])
    expect(order).toEqual(['run starts', 'run ends', 'closed'])
  })

  it('closes without error after a run that failed', async () => {
    const scheduler = new MaintenanceScheduler(timing(0), async () => {
      throw new Error('disk full')
    })
    await expect(scheduler.run()).rejects.toThrow('disk full')
    await expect(scheduler.close()).resolves.toBeUndefined()
  })

  it('keeps the failure of a scheduled run, which nobody awaits, from going unhandled', async () => {
    const work = vi.fn(async () => {
      throw new Error('disk full')
    })
    const scheduler = new MaintenanceScheduler(timing(100), work)
    scheduler.schedule()
    await vi.advanceTimersByTimeAsync(100)
    expect(work).toHaveBeenCalledTimes(1)
    await scheduler.close()
  })
})
