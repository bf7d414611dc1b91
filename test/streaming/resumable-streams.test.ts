import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import { ClientClosedRequestError, StreamCancelledError } from '../../src/errors.js'
import { createRetryPolicy } from '../../src/providers/retry.js'
import { MemoryReplayLog } from '../../src/streaming/memory-replay-log.js'
import type { LogReader } from '../../src/streaming/replay-log.js'
import { Resumption } from '../../src/streaming/resumption.js'
import { Streams } from '../../src/streaming/streams.js'
import { waitFor } from '../wait-for.js'
import { delta, end, InMemoryProvider, pause, request, type Step, settle, stall, start } from './doubles.js'

/** A memory log that records the most it ever held, after every append. */
class MeasuredLog extends MemoryReplayLog {
  highest = 0
  override append(...args: Parameters<MemoryReplayLog['append']>): void {
    super.append(...args)
    this.highest = Math.max(this.highest, this.bytes)
  }
}

function resumableStreams(options: { graceMs?: number; maxBytes?: number } = {}) {
  const log = new MeasuredLog({
    retentionMs: 60_000,
    maxBytesPerStream: 64 * 1024,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
  })
  const resumption = new Resumption({ log, shared: false, graceMs: options.graceMs ?? 60_000 })
  const streams = new Streams({
    retry: createRetryPolicy({ attempts: 1, minDelayMs: 1, maxDelayMs: 1 }),
    limits: { firstEventMs: 60_000, idleMs: 60_000, totalMs: 600_000 },
    resumption,
  })
  return { log, resumption, streams }
}

/** Opens a resumable stream over `script` and starts it as sendStream does, with no follower yet. */
async function begin(streams: Streams, provider: InMemoryProvider, owner = 'web') {
  const call = { signal: new Cancellation().signal, requestId: 'request-1' }
  const session = await streams.fromProvider(provider, request, call, { resumable: { owner } })
  const resumable = session.resumable
  if (!resumable?.begin(undefined, () => {})) throw new Error('not resumable')
  return { session, resumable, run: () => session.run(resumable) }
}

function collector(room: () => boolean = () => true): LogReader & { texts: string[] } {
  const texts: string[] = []
  return {
    texts,
    next(_seq, event) {
      if (event.type === 'part' && event.part.type === 'text-delta') texts.push(event.part.text)
      if (event.type === 'failure') texts.push(`failure: ${event.error.code}`)
      return room()
    },
    lost() {
      texts.push('lost')
    },
  }
}

describe('resumable streams', () => {
  it('with nobody attached, generation goes on for the grace, then the upstream is cancelled as the client’s leaving', async () => {
    const { streams, resumption } = resumableStreams({ graceMs: 30 })
    const provider = new InMemoryProvider([start(), delta('a'), stall])
    const { session, resumable, run } = await begin(streams, provider)
    const following = resumption.first(resumable)
    const subscription = following.start(collector(), () => {})
    const running = run()
    await settle()
    subscription.close()
    await running
    expect(provider.calls[0]?.signal.reason).toBeInstanceOf(ClientClosedRequestError)
    await session.closed
  })

  it('a follower attached keeps it going past the grace; cancel() ends it with a last event for the follower', async () => {
    const { streams, resumption } = resumableStreams({ graceMs: 1 })
    const provider = new InMemoryProvider([start(), delta('a'), stall])
    const { resumable, run } = await begin(streams, provider)
    const reader = collector()
    resumption.first(resumable).start(reader, () => {})
    const running = run()
    await waitFor(() => reader.texts.length === 1)
    await settle()
    expect(provider.calls[0]?.signal.aborted).toBe(false)
    await resumption.cancel(resumable.id, { name: 'web', scope: 'use' })
    await running
    expect(reader.texts).toEqual(['a', 'failure: stream_cancelled'])
    expect(provider.calls[0]?.signal.reason).toBeInstanceOf(StreamCancelledError)
  })

  it('a full follower holds the upstream read back until it has room', async () => {
    const { streams, resumption } = resumableStreams()
    const script: Step[] = [start(), ...Array.from({ length: 10 }, () => delta('x')), end()]
    const provider = new InMemoryProvider(script)
    const { resumable, run } = await begin(streams, provider)
    let room = false
    const reader = collector(() => room)
    const subscription = resumption.first(resumable).start(reader, () => {})
    const running = run()
    await settle()
    // The start was read, the follower was full after it: nothing more is read until it has room.
    expect(provider.pulled).toBe(1)
    room = true
    subscription.resume()
    await running
    expect(reader.texts).toHaveLength(10)
  })

  it('1,000 concurrent resumable streams keep the log within its total bound', async () => {
    const maxBytes = 512 * 1024
    const { streams, log } = resumableStreams({ maxBytes })
    const script: Step[] = [
      start(),
      ...Array.from({ length: 30 }, () => [pause(1), delta('token '.repeat(8))]).flat(),
      end(),
    ]
    const runs = await Promise.all(
      Array.from({ length: 1_000 }, async () => (await begin(streams, new InMemoryProvider(script))).run()),
    )
    expect(runs).toHaveLength(1_000)
    await waitFor(() => streams.size === 0, { timeout: 30_000 })
    // 1,000 x 30 deltas of 112 bytes counted: ~6 times the bound went through it.
    expect(log.highest).toBeLessThanOrEqual(maxBytes)
    expect(log.highest).toBeGreaterThan(maxBytes * 0.9)
    expect(log.size).toBeGreaterThan(0)
  }, 60_000)
})
