import { describe, expect, it } from 'vitest'
import { LineDecoder } from '../../src/providers/line-decoder.js'
import { OverLimitError } from '../../src/providers/over-limit.js'
import { workToDecode } from '../work-meter.js'

const MIB = 1_048_576

describe('LineDecoder', () => {
  it('finds lines across chunk boundaries and split multi-byte characters, skipping blank ones', () => {
    const bytes = Buffer.from('{"a":"é"}\n\n{"b":2}\r\n{"c":')
    const lines = new LineDecoder(MIB)
    const seen: string[] = []
    // Cut inside "é" (two bytes) and inside the second line.
    for (const cut of [
      [0, 7],
      [7, 14],
      [14, bytes.length],
    ]) {
      seen.push(...lines.push(bytes.subarray(cut[0], cut[1])))
    }
    expect(seen).toEqual(['{"a":"é"}', '{"b":2}'])
    expect(lines.push(Buffer.from('3}'))).toEqual([])
    expect(lines.end()).toEqual(['{"c":3}'])
    expect(lines.end()).toEqual([])
  })

  it('reads a bare CR as part of its line (JSON whitespace), not as a line end', () => {
    const lines = new LineDecoder(MIB)
    expect(lines.push(Buffer.from('{"a":\r1}\n'))).toEqual(['{"a":\r1}'])
  })

  it('reads plain Uint8Arrays as well as Buffers', () => {
    const lines = new LineDecoder(MIB)
    expect(lines.push(new TextEncoder().encode('{"a":1}\n{"b"'))).toEqual(['{"a":1}'])
  })

  it('returns a new array from every push', () => {
    const lines = new LineDecoder(MIB)
    const first = lines.push(Buffer.from('1\n'))
    const second = lines.push(Buffer.from('2\n'))
    expect(first).toEqual(['1'])
    expect(second).toEqual(['2'])
    expect(first).not.toBe(second)
  })

  it('takes a line of exactly the bound, its newline included, and many such lines', () => {
    const lines = new LineDecoder(1024)
    const line = `${'a'.repeat(1023)}\n`
    expect(lines.push(Buffer.from(line.repeat(3)))).toEqual([
      'a'.repeat(1023),
      'a'.repeat(1023),
      'a'.repeat(1023),
    ])
  })

  it('stops at a whole line one byte past the bound, with OverLimitError as its failure', () => {
    const lines = new LineDecoder(1024)
    expect(lines.failure).toBeUndefined()
    expect(lines.push(Buffer.from(`${'a'.repeat(1024)}\n{}\n`))).toEqual([])
    expect(lines.failure).toEqual(new OverLimitError('an NDJSON line', 1024))
    expect(lines.push(Buffer.from('{}\n'))).toEqual([])
  })

  it('returns the lines a chunk completed before the one past the bound', () => {
    const lines = new LineDecoder(1024)
    expect(lines.push(Buffer.from(`{"a":1}\n{"b":2}\n${'a'.repeat(2000)}`))).toEqual(['{"a":1}', '{"b":2}'])
    expect(lines.failure).toBeInstanceOf(OverLimitError)
  })

  it('stops as soon as a line that never ends passes the bound, chunk by chunk', () => {
    const lines = new LineDecoder(4096)
    const chunk = Buffer.alloc(1024, 'a')
    for (let index = 0; index < 4; index++) lines.push(chunk)
    expect(lines.failure).toBeUndefined()
    lines.push(chunk)
    expect(lines.failure).toBeInstanceOf(OverLimitError)
    expect(lines.end()).toEqual([])
  })

  it('counts each line against the bound afresh', () => {
    const lines = new LineDecoder(1024)
    const line = Buffer.from(`${'a'.repeat(1000)}\n`)
    for (let index = 0; index < 10; index++) expect(lines.push(line)).toHaveLength(1)
  })

  it('does work linear in the bytes of a line that never ends (no rescans of what it holds)', () => {
    const chunks = Array.from({ length: 1024 }, () => Buffer.alloc(1024, 'a'))
    const { items, work } = workToDecode(new LineDecoder(8 * MIB), chunks)
    expect(items).toBe(0)
    // 1 MiB fed in 1 KiB chunks: one search per chunk. A decoder searching all it held would count ~512 MiB.
    expect(work).toBeLessThanOrEqual(2 * MIB)
  })

  it('does work linear in the bytes of many short lines in one large chunk', () => {
    const chunk = Buffer.from('{}\r\n'.repeat(65_536))
    const { items, work } = workToDecode(new LineDecoder(MIB), [chunk])
    expect(items).toBe(65_536)
    expect(work).toBeLessThanOrEqual(4 * chunk.length)
  })
})
