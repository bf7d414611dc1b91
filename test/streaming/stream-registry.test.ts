import { afterEach, describe, expect, it, vi } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import { ServerShuttingDownError } from '../../src/errors.js'
import { createRetryPolicy } from '../../src/providers/retry.js'
import { fixedSource, providerSource } from '../../src/streaming/source.js'
import { StreamRegistry } from '../../src/streaming/stream-registry.js'
import { StreamSession } from '../../src/streaming/stream-session.js'
import { deferred, end, InMemoryProvider, RecordingSink, request, settle, stall, start } from './doubles.js'

afterEach(() => {
  vi.useRealTimers()
})

/** An opened session whose upstream answers its first part and then goes quiet until cancelled. */
async function openQuietSession() {
  const provider = new InMemoryProvider([start(), stall])
  const open = providerSource({
    provider,
    request,
    requestId: 'request-1',
    retry: createRetryPolicy({ attempts: 1, minDelayMs: 1, maxDelayMs: 1 }),
    firstEventMs: 60_000,
  })
  const session = new StreamSession({ open, stages: [], clientSignal: new Cancellation().signal })
  await session.open()
  return { session, provider }
}

describe('StreamRegistry', () => {
  it('tracks a session until it has closed', async () => {
    const registry = new StreamRegistry()
    const sessions = [1, 2].map(
      () =>
        new StreamSession({
          open: fixedSource(start(), end()),
          stages: [],
          clientSignal: new Cancellation().signal,
        }),
    )
    for (const session of sessions) registry.track(session)
    expect(registry.size).toBe(2)
    const [finishing] = sessions as [StreamSession]
    await finishing.open()
    await finishing.run(new RecordingSink())
    await finishing.closed
    expect(registry.size).toBe(1)
  })

  it('idle() resolves once the last open session has closed, and at once with none open', async () => {
    const registry = new StreamRegistry()
    await registry.idle()
    const { session } = await openQuietSession()
    registry.track(session)
    let idle = false
    const waiting = registry.idle().then(() => {
      idle = true
    })
    await settle()
    expect(idle).toBe(false)
    const running = session.run(new RecordingSink())
    session.cancel(new ServerShuttingDownError())
    await running
    await waiting
    expect(registry.size).toBe(0)
  })

  it('shutdown cancels every open session with ServerShuttingDownError and resolves once they have closed', async () => {
    const registry = new StreamRegistry()
    const streams = await Promise.all([openQuietSession(), openQuietSession()])
    const released = deferred()
    const sinks = streams.map(() => new RecordingSink({ end: () => released.promise }))
    const runs = streams.map(({ session }, index) => {
      registry.track(session)
      return session.run(sinks[index] as RecordingSink)
    })
    const journal: string[] = []
    const shuttingDown = registry.shutdown(60_000).then(() => journal.push('shut down'))
    for (const sink of sinks) {
      const last = sink.events.at(-1)
      expect(last?.type === 'failure' && last.error).toBeInstanceOf(ServerShuttingDownError)
    }
    for (const { provider } of streams) {
      expect(provider.calls[0]?.signal.reason).toBeInstanceOf(ServerShuttingDownError)
    }
    await Promise.all(runs)
    await settle()
    journal.push('responses released')
    released.resolve()
    await shuttingDown
    expect(journal).toEqual(['responses released', 'shut down'])
    expect(registry.size).toBe(0)
  })

  it('shutdown gives up waiting after graceMs when a session does not close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    const registry = new StreamRegistry()
    const { session } = await openQuietSession()
    registry.track(session)
    const running = session.run(new RecordingSink({ end: () => new Promise(() => {}) }))
    const shutDown = vi.fn()
    const shuttingDown = registry.shutdown(1_000).then(shutDown)
    await running
    await vi.advanceTimersByTimeAsync(999)
    expect(shutDown).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    await shuttingDown
    expect(shutDown).toHaveBeenCalledOnce()
    expect(registry.size).toBe(1)
  })

  it('shutdown leaves no timer behind once every session has closed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    const registry = new StreamRegistry()
    const { session } = await openQuietSession()
    registry.track(session)
    const running = session.run(new RecordingSink())
    await registry.shutdown(60_000)
    await running
    expect(vi.getTimerCount()).toBe(0)
  })
})
