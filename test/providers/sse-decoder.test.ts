import { describe, expect, it } from 'vitest'
import { OverLimitError } from '../../src/providers/over-limit.js'
import { SseDecoder } from '../../src/providers/sse-decoder.js'
import { workToDecode } from '../work-meter.js'

const MIB = 1_048_576

interface Event {
  type: string | undefined
  data: string
}

const decoder = (maxEventBytes = MIB) =>
  new SseDecoder<Event>(maxEventBytes, (type, data) => ({ type, data }))

/** Every event of `chunks`, pushed in order. */
function decode(chunks: (string | Buffer)[], maxEventBytes = MIB): Event[] {
  const events = decoder(maxEventBytes)
  return chunks.flatMap((chunk) => events.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk))
}

describe('SseDecoder', () => {
  it('ends lines at LF, CR or CRLF, alike', () => {
    const expected = [{ type: 'a', data: '1' }]
    expect(decode(['event: a\ndata: 1\n\n'])).toEqual(expected)
    expect(decode(['event: a\rdata: 1\r\r'])).toEqual(expected)
    expect(decode(['event: a\r\ndata: 1\r\n\r\n'])).toEqual(expected)
  })

  it('reads a CRLF cut between two chunks as one line end', () => {
    expect(decode(['data: 1\r', '\ndata: 2\r', '\n\r', '\n'])).toEqual([{ type: undefined, data: '1\n2' }])
  })

  it('joins the data lines of one event with LF, and strips one space after the colon only', () => {
    expect(decode(['data:a\ndata:  b\ndata\ndata: c\n\n'])).toEqual([{ type: undefined, data: 'a\n b\n\nc' }])
  })

  it('ignores comments, unknown fields, id and retry', () => {
    expect(decode([': ping\nid: 7\nretry: 1000\nfoo: bar\nfoo\ndata: x\n\n'])).toEqual([
      { type: undefined, data: 'x' },
    ])
  })

  it('dispatches nothing for an event without data, and forgets its type', () => {
    expect(decode(['event: a\n\ndata: 1\n\n'])).toEqual([{ type: undefined, data: '1' }])
  })

  it('reads an empty event field as no type', () => {
    expect(decode(['event:\ndata: 1\n\n'])).toEqual([{ type: undefined, data: '1' }])
  })

  it('skips a byte order mark at the start of the stream, even when cut between chunks', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(
      decode([bom.subarray(0, 2), Buffer.concat([bom.subarray(2), Buffer.from('data: 1\n\n')])]),
    ).toEqual([{ type: undefined, data: '1' }])
  })

  it('decodes multi-byte characters cut between chunks', () => {
    const bytes = Buffer.from('data: "é€😀"\n\n')
    const chunks = Array.from(bytes, (byte) => Buffer.from([byte]))
    expect(decode(chunks)).toEqual([{ type: undefined, data: '"é€😀"' }])
  })

  it('drops an event cut off by the end of the body', () => {
    const events = decoder()
    expect(events.push(Buffer.from('data: 1\n\ndata: 2\n'))).toEqual([{ type: undefined, data: '1' }])
    expect(events.end()).toEqual([])
  })

  it('returns a new array from every push', () => {
    const events = decoder()
    const first = events.push(Buffer.from('data: 1\n\n'))
    const second = events.push(Buffer.from('data: 2\n\n'))
    expect(first).toEqual([{ type: undefined, data: '1' }])
    expect(second).toEqual([{ type: undefined, data: '2' }])
  })

  it('takes an event of exactly the bound, its line ends and blank line included, and many such events', () => {
    const event = `data: ${'a'.repeat(1024 - 'data: \n\n'.length)}\n\n`
    expect(decode([event.repeat(3)], 1024)).toHaveLength(3)
  })

  it('stops at an event one byte past the bound, with OverLimitError as its failure', () => {
    const events = decoder(1024)
    const event = `data: ${'a'.repeat(1025 - 'data: \n\n'.length)}\n\n`
    expect(events.push(Buffer.from(`${event}data: 1\n\n`))).toEqual([])
    expect(events.failure).toEqual(new OverLimitError('an SSE event', 1024))
    expect(events.push(Buffer.from('data: 2\n\n'))).toEqual([])
  })

  it('returns the events a chunk completed before the one past the bound', () => {
    const events = decoder(1024)
    expect(events.push(Buffer.from(`data: 1\n\ndata: ${'a'.repeat(2000)}`))).toEqual([
      { type: undefined, data: '1' },
    ])
    expect(events.failure).toBeInstanceOf(OverLimitError)
  })

  it('counts every line up to the blank line against the bound, not only the longest', () => {
    for (const lines of ['data: a\n'.repeat(200), ': ping\n'.repeat(200)]) {
      const events = decoder(1024)
      events.push(Buffer.from(lines))
      expect(events.failure).toBeInstanceOf(OverLimitError)
    }
  })

  it('stops as soon as a line that never ends passes the bound, chunk by chunk', () => {
    const events = decoder(4096)
    const chunk = Buffer.alloc(1024, 'a')
    for (let index = 0; index < 4; index++) events.push(chunk)
    expect(events.failure).toBeUndefined()
    events.push(chunk)
    expect(events.failure).toBeInstanceOf(OverLimitError)
  })

  it('stops when reading an event throws, keeping the error and the events before it', () => {
    const events = new SseDecoder(MIB, (_type, data) => JSON.parse(data) as unknown)
    expect(events.push(Buffer.from('data: 1\n\ndata: {nope\n\ndata: 2\n\n'))).toEqual([1])
    expect(events.failure).toBeInstanceOf(SyntaxError)
  })

  describe('does work linear in the bytes it receives', () => {
    it('for one data line that never ends', () => {
      const chunks = [Buffer.from('data: '), ...Array.from({ length: 1024 }, () => Buffer.alloc(1024, 'a'))]
      const { items, work } = workToDecode(decoder(8 * MIB), chunks)
      expect(items).toBe(0)
      // 1 MiB in 1 KiB chunks: one search for CR and one for LF per chunk, ~2 MiB in all.
      expect(work).toBeLessThanOrEqual(3 * MIB)
    })

    it.each([
      ['LF', 'x:\n'],
      ['CR', 'x:\r'],
      ['CRLF', 'x:\r\n'],
    ])('for many short lines of an unknown field ending in %s, in one large chunk', (_name, line) => {
      const chunk = Buffer.from(line.repeat(65_536))
      const { work } = workToDecode(decoder(8 * MIB), [chunk])
      expect(work).toBeLessThanOrEqual(2 * chunk.length)
    })

    it('for many whole events in one large chunk', () => {
      const chunk = Buffer.from('event: a\r\ndata: {}\r\n\r\n'.repeat(4096))
      const { items, work } = workToDecode(decoder(), [chunk])
      expect(items).toBe(4096)
      expect(work).toBeLessThanOrEqual(2 * chunk.length)
    })
  })
})
