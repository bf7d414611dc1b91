import { describe, expect, it } from 'vitest'
import { UpstreamUnavailableError } from '../../src/errors.js'
import type { StreamPart } from '../../src/providers/provider.js'
import { ndjson } from '../../src/streaming/ndjson.js'
import type { RelayEvent } from '../../src/streaming/pipeline.js'
import { delta } from './doubles.js'

const part = (streamPart: StreamPart): RelayEvent => ({ type: 'part', part: streamPart })

const RAW_DELTA = '{"model":"llama3.2","response":"Hi","done":false}'
const RAW_END = '{"model":"llama3.2","response":"","done":true,"done_reason":"stop"}'

describe('ndjson', () => {
  it('relays each part’s raw upstream line, ended by a newline', () => {
    const format = ndjson()
    expect(format.encode(part({ type: 'start', model: 'llama3.2', raw: RAW_DELTA }))).toBe(`${RAW_DELTA}\n`)
    expect(format.encode(part({ type: 'text-delta', text: 'Hi', raw: RAW_DELTA }))).toBe(`${RAW_DELTA}\n`)
    expect(format.encode(part({ type: 'end', finishReason: 'stop', raw: RAW_END }))).toBe(`${RAW_END}\n`)
  })

  it('relays a raw line even when its delta is empty', () => {
    expect(ndjson().encode(part({ type: 'text-delta', text: '', raw: RAW_END }))).toBe(`${RAW_END}\n`)
  })

  it('writes nothing for a part without a raw line', () => {
    const format = ndjson()
    expect(format.encode(part(delta('Hi')))).toBeUndefined()
    expect(format.encode(part({ type: 'progress' }))).toBeUndefined()
  })

  it('ends a failure with one `{"error": message}` line', () => {
    const error = new UpstreamUnavailableError({ logDetail: 'internal detail' })
    expect(ndjson().encode({ type: 'failure', error })).toBe('{"error":"The AI provider is unavailable"}\n')
  })

  it('has no heartbeat and no preface', () => {
    const format = ndjson()
    expect(format.heartbeat).toBeUndefined()
    expect(format.preface).toBeUndefined()
  })

  it('sends NDJSON headers that neither caches nor proxies hold back', () => {
    expect(ndjson().headers).toEqual({
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    })
  })
})
