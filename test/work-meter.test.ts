import { describe, expect, it } from 'vitest'
import { countWork } from './work-meter.js'

/** The NDJSON decoder as it was before it became linear: every chunk searched all it had buffered. */
class RescanningLineDecoder {
  readonly #text = new TextDecoder()
  #buffered = ''

  push(chunk: Uint8Array): string[] {
    const lines: string[] = []
    this.#buffered += this.#text.decode(chunk, { stream: true })
    let start = 0
    let newline = this.#buffered.indexOf('\n', start)
    while (newline !== -1) {
      lines.push(this.#buffered.slice(start, newline))
      start = newline + 1
      newline = this.#buffered.indexOf('\n', start)
    }
    this.#buffered = this.#buffered.slice(start)
    return lines
  }
}

const kib = Buffer.alloc(1024, 'a')

describe('countWork', () => {
  it('counts one search through a buffer as the bytes it searched', () => {
    const bytes = Buffer.from('0123456789\n')
    expect(countWork(() => bytes.indexOf(0x0a))).toBe(11)
    expect(countWork(() => bytes.indexOf(0x0a, 4))).toBe(7)
    expect(countWork(() => bytes.indexOf(0x0d))).toBe(11)
  })

  it('counts a search in a string as the whole string, and a copy as what it copied', () => {
    const text = 'a'.repeat(100)
    expect(countWork(() => text.indexOf('b', 90))).toBe(100)
    expect(countWork(() => text.slice(10, 30))).toBe(20)
    expect(countWork(() => Buffer.concat([kib, kib]))).toBe(2048)
  })

  it('counts a decoder that searches all it buffered on every chunk as quadratic in its input', () => {
    const decoder = new RescanningLineDecoder()
    const work = countWork(() => {
      for (let index = 0; index < 256; index++) decoder.push(kib)
    })
    // 256 KiB fed: one pass would count about 256 KiB twice (decode, search); this counts ~128 passes.
    expect(work).toBeGreaterThan(100 * 256 * 1024)
  })

  it('leaves every method as it found it, even when the code it runs throws', () => {
    const indexOf = String.prototype.indexOf
    expect(() =>
      countWork(() => {
        throw new Error('boom')
      }),
    ).toThrow('boom')
    expect(String.prototype.indexOf).toBe(indexOf)
  })
})
