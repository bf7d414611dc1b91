import { describe, expect, it } from 'vitest'
import { ClientClosedRequestError, UpstreamTimeoutError } from '../../src/errors.js'
import type { StreamPart } from '../../src/providers/provider.js'
import type { RelayEvent } from '../../src/streaming/pipeline.js'
import { sse } from '../../src/streaming/sse.js'
import { delta, end, start } from './doubles.js'

const part = (streamPart: StreamPart): RelayEvent => ({ type: 'part', part: streamPart })

describe('sse', () => {
  it('frames a text delta as a data frame with an id, the ids increasing from 1', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(delta('Hi')))).toBe('id: 1\ndata: {"content":"Hi"}\n\n')
    expect(format.encode(part(delta(' there')))).toBe('id: 2\ndata: {"content":" there"}\n\n')
  })

  it('escapes a delta’s newlines and quotes inside the one data line', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(delta('a\n\n"b"')))).toBe('id: 1\ndata: {"content":"a\\n\\n\\"b\\""}\n\n')
  })

  it('frames the start as the `: stream open` comment, which takes no id', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(start()))).toBe(': stream open\n\n')
    expect(format.encode(part(delta('Hi')))).toBe('id: 1\ndata: {"content":"Hi"}\n\n')
  })

  it('skips empty deltas and progress parts, which take no id', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(delta('')))).toBeUndefined()
    expect(format.encode(part({ type: 'progress', raw: '{"type":"response.in_progress"}' }))).toBeUndefined()
    expect(format.encode(part(delta('Hi')))).toBe('id: 1\ndata: {"content":"Hi"}\n\n')
  })

  it('frames a complete end as `{"done": true}`', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(end('stop')))).toBe('id: 1\ndata: {"done":true}\n\n')
  })

  it('frames an end cut short as done with its reason', () => {
    const format = sse({ heartbeatMs: 15_000 })
    expect(format.encode(part(end('max_output_tokens')))).toBe(
      'id: 1\ndata: {"done":true,"reason":"max_output_tokens"}\n\n',
    )
  })

  it('frames a failure as a stream_error data frame with the error’s safe message', () => {
    const format = sse({ heartbeatMs: 15_000 })
    format.encode(part(delta('Hi')))
    const error = new UpstreamTimeoutError({ logDetail: 'internal detail' })
    expect(format.encode({ type: 'failure', error })).toBe(
      'id: 2\ndata: {"error":"stream_error","detail":"The AI provider did not answer in time"}\n\n',
    )
    expect(format.encode({ type: 'failure', error: new ClientClosedRequestError() })).toBe(
      'id: 3\ndata: {"error":"stream_error","detail":"Client closed the request"}\n\n',
    )
  })

  it('writes the preface as the first data frame, id 1, and numbers the frames after it from 2', () => {
    const format = sse({ heartbeatMs: 15_000, preface: { sources: [{ id: 'doc-1' }] } })
    expect(format.preface).toBe('id: 1\ndata: {"sources":[{"id":"doc-1"}]}\n\n')
    expect(format.encode(part(delta('Hi')))).toBe('id: 2\ndata: {"content":"Hi"}\n\n')
  })

  it('has no preface unless one is given', () => {
    expect(sse({ heartbeatMs: 15_000 }).preface).toBeUndefined()
  })

  it('beats with the `: ping` comment at the configured interval', () => {
    expect(sse({ heartbeatMs: 1_234 }).heartbeat).toEqual({ frame: ': ping\n\n', intervalMs: 1_234 })
  })

  it('sends event-stream headers that neither caches nor proxies hold back', () => {
    expect(sse({ heartbeatMs: 15_000 }).headers).toEqual({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    })
  })

  it('with a stream id, ids are `<stream id>:<seq>` from the log, the start names the stream and the preface is 0', () => {
    const format = sse({ heartbeatMs: 15_000, streamId: 'abc', preface: { sources: [] } })
    expect(format.preface).toBe('id: abc:0\ndata: {"sources":[]}\n\n')
    expect(format.encode(part(start()), 1)).toBe('id: abc:1\ndata: {"stream_id":"abc"}\n\n')
    expect(format.encode(part(delta('Hi')), 7)).toBe('id: abc:7\ndata: {"content":"Hi"}\n\n')
    const error = new UpstreamTimeoutError()
    expect(format.encode({ type: 'failure', error }, 8)).toBe(
      'id: abc:8\ndata: {"error":"stream_error","detail":"The AI provider did not answer in time"}\n\n',
    )
  })

  it('numbers each stream’s frames on its own', () => {
    const first = sse({ heartbeatMs: 15_000 })
    first.encode(part(delta('a')))
    expect(sse({ heartbeatMs: 15_000 }).encode(part(delta('b')))).toBe('id: 1\ndata: {"content":"b"}\n\n')
  })
})
