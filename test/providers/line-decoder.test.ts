import { describe, expect, it } from 'vitest'
import { LineDecoder } from '../../src/streaming/ndjson.js'

describe('LineDecoder', () => {
  it('finds lines across chunk boundaries and split multi-byte characters, skipping blank ones', () => {
    const bytes = Buffer.from('{"a":"é"}\n\n{"b":2}\r\n{"c":')
    const lines = new LineDecoder()
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
})
