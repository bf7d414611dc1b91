import { OverLimitError } from './over-limit.js'

const LF = 0x0a
const CR = 0x0d

export interface LineSplitterOptions {
  /** SSE ends lines at CR, LF or CRLF; NDJSON at LF only (a CR is JSON whitespace there). */
  crEndsLines: boolean
  /** The most bytes consumed between two calls of `resetBudget`, terminators included. */
  maxBytes: number
  /** What the budget covers, for the error: "an NDJSON line", "an SSE event". */
  unit: string
}

/**
 * Receives one line, `source[start, end)` without its terminator, and what the caller passed to `split`
 * to collect into (its items for this chunk).
 */
export type LineHandler<Into> = (into: Into, source: Buffer, start: number, end: number) => void

/**
 * Splits a byte stream into lines, chunk by chunk, in time linear in the bytes received: each chunk is
 * searched once per terminator byte (a found position is kept until the search passes it), and the
 * bytes of a line still open wait as chunk slices, copied once, when the line ends. Working on bytes
 * keeps the bound exact and needs no stateful text decoder: CR and LF never occur inside a multi-byte
 * UTF-8 character, so every line decodes on its own.
 *
 * The budget counts every byte taken since the owner last reset it (a line for NDJSON, an event for
 * SSE), the open line's included, and fails with OverLimitError as soon as it is spent: a line that
 * never ends costs at most `maxBytes` of memory.
 *
 * A failure (that one, or the owner's `onLine` throwing) stops the splitter and is kept in `failure`
 * instead of thrown, so the lines a chunk completed before it still reach the owner's caller.
 */
export class LineSplitter {
  readonly #options: LineSplitterOptions
  /** Slices of the line not yet ended. */
  #open: Buffer[] = []
  #used = 0
  /** The last chunk ended in CR: an LF starting the next one completes that CRLF. */
  #afterCR = false
  /** Why splitting stopped, once it has: nothing is read after it. */
  failure: unknown

  constructor(options: LineSplitterOptions) {
    this.#options = options
  }

  /**
   * Calls `onLine` for every line this chunk ends, in order, until a failure, handing it `into`. The
   * caller's per-chunk collection travels as an argument rather than in a field of its own: a decoder
   * that lives long enough to reach V8's old generation would keep each chunk's last items alive
   * through every later scavenge from that field, and they would be promoted (on /stream, 7.5 KB per
   * stream: a third more scavenge time; BENCHMARKS.md, "Upstream decoders").
   */
  split<Into>(bytes: Uint8Array, onLine: LineHandler<Into>, into: Into): void {
    if (this.failure !== undefined) return
    // undici's chunks are Buffers already; anything else is viewed as one, without a copy.
    const chunk = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    try {
      this.#split(chunk, onLine, into)
    } catch (error) {
      this.failure = error
      this.#open = []
    }
  }

  #split<Into>(chunk: Buffer, onLine: LineHandler<Into>, into: Into) {
    let start = 0
    if (this.#afterCR) {
      this.#afterCR = false
      if (chunk[0] === LF) {
        this.#take(1)
        start = 1
      }
    }
    // -2: not searched yet; -1: not in the rest of this chunk.
    let lf = -2
    let cr = this.#options.crEndsLines ? -2 : -1
    while (start < chunk.length) {
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start)
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start)
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
      if (end === -1) break
      let next = end + 1
      if (chunk[end] === CR) {
        if (next === chunk.length) this.#afterCR = true
        else if (chunk[next] === LF) next++
      }
      this.#take(next - start)
      if (this.#open.length === 0) onLine(into, chunk, start, end)
      else {
        this.#open.push(chunk.subarray(start, end))
        const line = Buffer.concat(this.#open)
        this.#open = []
        onLine(into, line, 0, line.length)
      }
      start = next
    }
    if (start < chunk.length) {
      this.#take(chunk.length - start)
      this.#open.push(chunk.subarray(start))
    }
  }

  /** The bytes of the line still open (the body ended without its terminator), and forgets them. */
  takeOpenLine(): Buffer {
    const line = Buffer.concat(this.#open)
    this.#open = []
    return line
  }

  /** Starts a new budget: the owner's unit (a line, an event) ended. */
  resetBudget(): void {
    this.#used = 0
  }

  #take(bytes: number) {
    this.#used += bytes
    if (this.#used > this.#options.maxBytes)
      throw new OverLimitError(this.#options.unit, this.#options.maxBytes)
  }
}
