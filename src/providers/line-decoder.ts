import { LineSplitter } from './line-splitter.js'

/**
 * Splits a byte stream into its non-empty lines, chunk by chunk, across chunk boundaries and multi-byte
 * characters: how Ollama's NDJSON answers are read. Linear in the bytes received, and bounded: a line
 * longer than `maxLineBytes` stops it with an OverLimitError in `failure` (the lines before it are
 * returned).
 */
export class LineDecoder {
  readonly #splitter: LineSplitter

  constructor(maxLineBytes: number) {
    this.#splitter = new LineSplitter({ crEndsLines: false, maxBytes: maxLineBytes, unit: 'an NDJSON line' })
  }

  /** Why decoding stopped, once it has: nothing follows the lines already returned. */
  get failure(): unknown {
    return this.#splitter.failure
  }

  /** The lines this chunk completes, in a new array the caller owns. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = []
    this.#splitter.split(chunk, this.#onLine, lines)
    return lines
  }

  /** The last line, when the stream ended without a newline after it. */
  end(): string[] {
    const last = this.#splitter.takeOpenLine().toString('utf8').trim()
    return last === '' ? [] : [last]
  }

  readonly #onLine = (lines: string[], source: Buffer, start: number, end: number) => {
    this.#splitter.resetBudget()
    // A CRLF line keeps its CR: JSON whitespace, trimmed with any other.
    const line = source.toString('utf8', start, end).trim()
    if (line !== '') lines.push(line)
  }
}
