import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type AppError, ClientClosedRequestError, UpstreamTimeoutError } from '../../src/errors.js'
import type { StreamPart } from '../../src/providers/provider.js'
import { Pipeline, type RelayEvent } from '../../src/streaming/pipeline.js'
import { type StreamMeter, streamMetrics } from '../../src/streaming/stream-metrics.js'
import { delta, end, RecordingSink, start } from './doubles.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

/** A meter that writes down each report, in order. */
function recordingMeter() {
  const reports: string[] = []
  const meter: StreamMeter = {
    opened: () => reports.push('opened'),
    firstText: (seconds) => reports.push(`firstText ${seconds}`),
    closed: (seconds) => reports.push(`closed ${seconds}`),
    abortedByClient: () => reports.push('aborted'),
    failed: (error: AppError) => reports.push(`failed ${error.code}`),
  }
  return { meter, reports }
}

/** A started stream whose only stage is the metrics, into a recording sink. */
function meteredStream() {
  const { meter, reports } = recordingMeter()
  const pipeline = new Pipeline([streamMetrics(meter)], () => {})
  const sink = new RecordingSink()
  pipeline.attach(sink)
  pipeline.start()
  return { pipeline, sink, reports }
}

const of = (part: StreamPart): RelayEvent => ({ type: 'part', part })

describe('streamMetrics', () => {
  it('reports the opening, the first text once, and the close, with seconds since the opening', () => {
    const { pipeline, sink, reports } = meteredStream()
    vi.advanceTimersByTime(250)
    pipeline.push(of(start()))
    vi.advanceTimersByTime(250)
    pipeline.push(of(delta('a')))
    vi.advanceTimersByTime(500)
    pipeline.push(of(delta('b')))
    pipeline.push(of(end()))
    expect(reports).toEqual(['opened', 'firstText 0.5', 'closed 1'])
    expect(sink.parts).toEqual([start(), delta('a'), delta('b'), end()])
  })

  it('reports a client leaving as aborted, not as failed', () => {
    const { pipeline, reports } = meteredStream()
    pipeline.fail(new ClientClosedRequestError())
    expect(reports).toEqual(['opened', 'aborted', 'closed 0'])
  })

  it('reports any other failure by its code, and passes it on to the sink', () => {
    const { pipeline, sink, reports } = meteredStream()
    const timeout = new UpstreamTimeoutError()
    pipeline.fail(timeout)
    expect(reports).toEqual(['opened', 'failed upstream_timeout', 'closed 0'])
    expect(sink.events).toEqual([{ type: 'failure', error: timeout }])
  })

  it('reports no close for a stream ended before the stage started', () => {
    const { meter, reports } = recordingMeter()
    const pipeline = new Pipeline([streamMetrics(meter)], () => {})
    pipeline.fail(new UpstreamTimeoutError())
    expect(reports).toEqual(['failed upstream_timeout'])
  })
})
