import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import {
  ClientClosedRequestError,
  InternalServerError,
  ModelNotFoundError,
  ServerShuttingDownError,
  UpstreamRateLimitError,
  UpstreamUnavailableError,
} from '../../src/errors.js'
import { createRetryPolicy } from '../../src/providers/retry.js'
import type { Stage } from '../../src/streaming/pipeline.js'
import { providerSource } from '../../src/streaming/source.js'
import { StreamSession } from '../../src/streaming/stream-session.js'
import { waitFor } from '../wait-for.js'
import {
  deferred,
  delta,
  end,
  InMemoryProvider,
  RecordingSink,
  request,
  type Step,
  settle,
  stall,
  start,
} from './doubles.js'

/** A session over an in-memory upstream playing `script`, with one attempt and these stages. */
function sessionOf(script: Step[], stages: Stage[] = []) {
  const provider = new InMemoryProvider(script)
  const client = new Cancellation()
  const open = providerSource({
    provider,
    request,
    requestId: 'request-1',
    retry: createRetryPolicy({ attempts: 1, minDelayMs: 1, maxDelayMs: 1 }),
    firstEventMs: 60_000,
  })
  const session = new StreamSession({ open, stages, clientSignal: client.signal })
  /** The signal the upstream call was given. */
  const upstreamSignal = () => provider.calls[0]?.signal
  return { session, provider, client, upstreamSignal }
}

/** A stage that throws `bug` on the text delta `text` and passes every other event on. */
function throwingOn(text: string, bug: Error): Stage {
  return {
    transform(event, context) {
      if (event.type === 'part' && event.part.type === 'text-delta' && event.part.text === text) throw bug
      context.emit(event)
    },
  }
}

describe('StreamSession', () => {
  it('opens at the upstream’s first part, without waiting for the rest', async () => {
    const rest = deferred()
    const { session, provider } = sessionOf([start(), { waits: () => rest.promise }, delta('Hi'), end()])
    await session.open()
    expect(provider.pulled).toBe(1)
    rest.resolve()
  })

  it('relays the first part and then the rest to the sink, in order, and ends the sink', async () => {
    const rest = deferred()
    const { session } = sessionOf([
      start(),
      { waits: () => rest.promise },
      delta('Hi'),
      delta(' there'),
      end(),
    ])
    await session.open()
    const sink = new RecordingSink()
    const running = session.run(sink)
    rest.resolve()
    await running
    expect(sink.parts).toEqual([start(), delta('Hi'), delta(' there'), end()])
    expect(sink.events).toHaveLength(4)
    expect(sink.endCalls).toBe(1)
    await session.closed
  })

  it('after the end part, finishes the upstream’s generator and leaves its signal uncancelled', async () => {
    const { session, provider, client, upstreamSignal } = sessionOf([
      start(),
      delta('Hi'),
      end(),
      delta('never read'),
    ])
    await session.open()
    await session.run(new RecordingSink())
    await waitFor(() => provider.finished === 1)
    expect(provider.pulled).toBe(3)
    // The client leaving after the end reaches nothing upstream either.
    client.cancel(new ClientClosedRequestError())
    expect(upstreamSignal()?.aborted).toBe(false)
  })

  it('ends with a ClientClosedRequestError failure when the client leaves, and cancels the upstream', async () => {
    const { session, provider, client, upstreamSignal } = sessionOf([start(), delta('Hi'), stall])
    await session.open()
    const sink = new RecordingSink()
    const running = session.run(sink)
    await waitFor(() => sink.events.length === 2)
    const reason = new ClientClosedRequestError()
    client.cancel(reason)
    await running
    expect(sink.events).toEqual([
      { type: 'part', part: start() },
      { type: 'part', part: delta('Hi') },
      { type: 'failure', error: reason },
    ])
    expect(sink.endCalls).toBe(1)
    expect(upstreamSignal()?.reason).toBe(reason)
    expect(provider.finished).toBe(1)
    await session.closed
  })

  it('ends with an UpstreamUnavailableError failure when the upstream ends without an end part', async () => {
    const { session, upstreamSignal } = sessionOf([start(), delta('Hi')])
    await session.open()
    const sink = new RecordingSink()
    await session.run(sink)
    const last = sink.events.at(-1)
    expect(sink.parts).toEqual([start(), delta('Hi')])
    expect(last?.type === 'failure' && last.error).toBeInstanceOf(UpstreamUnavailableError)
    expect(last?.type === 'failure' && last.error.logDetail).toBe('upstream stream ended early')
    expect(upstreamSignal()?.reason).toBe(last?.type === 'failure' && last.error)
  })

  it('ends with the AppError the upstream throws mid-stream as its failure', async () => {
    const error = new UpstreamRateLimitError()
    const { session, upstreamSignal } = sessionOf([start(), delta('Hi'), { throws: error }])
    await session.open()
    const sink = new RecordingSink()
    await session.run(sink)
    expect(sink.events.map((event) => event.type)).toEqual(['part', 'part', 'failure'])
    expect(sink.events.at(-1)).toEqual({ type: 'failure', error })
    expect(upstreamSignal()?.reason).toBe(error)
  })

  it('ends with an UpstreamUnavailableError failure when the upstream throws something else mid-stream', async () => {
    const thrown = new TypeError('terminated')
    const { session } = sessionOf([start(), { throws: thrown }])
    await session.open()
    const sink = new RecordingSink()
    await session.run(sink)
    const last = sink.events.at(-1)
    expect(last?.type === 'failure' && last.error).toBeInstanceOf(UpstreamUnavailableError)
    expect(last?.type === 'failure' && last.error.cause).toBe(thrown)
  })

  it('gives the sink an InternalServerError failure when a stage throws, and rejects run with the bug', async () => {
    const bug = new Error('stage bug')
    const { session, upstreamSignal } = sessionOf([start(), delta('boom'), stall], [throwingOn('boom', bug)])
    await session.open()
    const sink = new RecordingSink()
    await expect(session.run(sink)).rejects.toBe(bug)
    expect(sink.parts).toEqual([start()])
    const last = sink.events.at(-1)
    expect(last?.type === 'failure' && last.error).toBeInstanceOf(InternalServerError)
    expect(last?.type === 'failure' && last.error.cause).toBe(bug)
    expect(sink.endCalls).toBe(1)
    expect(upstreamSignal()?.reason).toBeInstanceOf(InternalServerError)
  })

  // A stage that throws on the failure event too must not keep the response open.
  it('still ends the stream when a stage throws on every event, failures included', async () => {
    const bug = new Error('stage bug')
    const alwaysThrowing: Stage = {
      transform() {
        throw bug
      },
    }
    const { session } = sessionOf([start(), stall], [alwaysThrowing])
    await session.open()
    const sink = new RecordingSink()
    await expect(session.run(sink)).rejects.toBe(bug)
    expect(sink.endCalls).toBe(1)
  })

  // A stage's start() runs inside open(): a throw there ends the stream like any failure to open.
  it('ends the stream when a stage’s start throws, rejecting open', async () => {
    const bug = new Error('stage bug')
    const closing = {
      closeCalls: 0,
      close() {
        this.closeCalls++
      },
    }
    const throwingAtStart: Stage = {
      start() {
        throw bug
      },
    }
    const { session, provider } = sessionOf([start(), end()], [closing, throwingAtStart])
    await expect(session.open()).rejects.toBeInstanceOf(Error)
    expect(provider.calls).toHaveLength(0)
    expect(closing.closeCalls).toBe(1)
  })

  // Cancelled while the reply was being set up (e.g. an async onSend hook): the sink still ends.
  it('ends the sink when the stream was cancelled between open and run', async () => {
    const { session } = sessionOf([start(), delta('Hi'), end()])
    await session.open()
    session.cancel(new ServerShuttingDownError())
    const sink = new RecordingSink()
    await session.run(sink)
    expect(sink.endCalls).toBe(1)
  })

  it('stops reading the upstream while the sink’s ready() is pending, and resumes when it resolves', async () => {
    const room = deferred()
    const { session, provider } = sessionOf([start(), delta('a'), delta('b'), end()])
    await session.open()
    const sink = new RecordingSink({ ready: () => (provider.pulled === 1 ? room.promise : undefined) })
    const running = session.run(sink)
    await waitFor(() => sink.readyCalls === 1)
    await settle()
    expect(provider.pulled).toBe(1)
    expect(sink.parts).toEqual([start()])
    room.resolve()
    await running
    expect(provider.pulled).toBe(4)
    expect(sink.parts).toEqual([start(), delta('a'), delta('b'), end()])
  })

  it('rejects open with the upstream’s AppError and closes the session', async () => {
    const error = new ModelNotFoundError('test-model')
    const { session } = sessionOf([{ throws: error }])
    await expect(session.open()).rejects.toBe(error)
    await session.closed
  })

  it('rejects open with the reason of a cancel() before the first part, and cancels the upstream', async () => {
    const { session, provider, upstreamSignal } = sessionOf([stall])
    const opening = session.open()
    await waitFor(() => provider.calls.length === 1)
    const reason = new ServerShuttingDownError()
    session.cancel(reason)
    await expect(opening).rejects.toBe(reason)
    expect(upstreamSignal()?.reason).toBe(reason)
    await session.closed
  })

  it('refuses to run before a successful open', async () => {
    const { session } = sessionOf([start(), end()])
    await expect(session.run(new RecordingSink())).rejects.toThrow('run() before a successful open()')
  })
})
