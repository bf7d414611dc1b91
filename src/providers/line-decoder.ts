/**
 * Splits a byte stream into its non-empty lines, chunk by chunk, across chunk boundaries and multi-byte
 * characters: how Ollama's NDJSON answers are read.
 */
export class LineDecoder {
  readonly #text = new TextDecoder()
  #buffered = ''

  /** The lines this chunk completes, in a new array the caller owns. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = []
    this.#buffered += this.#text.decode(chunk, { stream: true })
    let start = 0
    let newline = this.#buffered.indexOf('\n', start)
    while (newline !== -1) {
      const line = this.#buffered.slice(start, newline).trim()
      if (line !== '') lines.push(line)
      start = newline + 1
      newline = this.#buffered.indexOf('\n', start)
    }
    this.#buffered = this.#buffered.slice(start)
    return lines
  }

  /** The last line, when the stream ended without a newline after it. */
  end(): string[] {
    const last = (this.#buffered + this.#text.decode()).trim()
    this.#buffered = ''
    return last === '' ? [] : [last]
  }
}
