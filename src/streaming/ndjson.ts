import type { AppError } from '../errors.js'
import type { WireFormat } from './streams.js'

export const NDJSON_HEADERS = {
  'content-type': 'application/x-ndjson',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * Relays the upstream's own NDJSON lines, each ending in `\n` (the chapter lost the newlines). A failure
 * after the stream began becomes one last `{"error": "<safe message>"}` line, Ollama's own shape.
 */
export function ndjsonFormat(onFailure?: (error: AppError) => void): WireFormat {
  return {
    frame(event) {
      if (event.type === 'failure') {
        onFailure?.(event.error)
        return `${JSON.stringify({ error: event.error.message })}\n`
      }
      return event.type === 'part' && event.part.raw !== undefined ? `${event.part.raw}\n` : undefined
    },
  }
}

/** Splits a byte stream into its non-empty lines, chunk by chunk, across chunk boundaries and multi-byte characters. */
export class LineDecoder {
  readonly #text = new TextDecoder()
  readonly #lines: string[] = []
  #buffered = ''

  /** The lines this chunk completes. The array is reused: read it before the next call. */
  push(chunk: Uint8Array): readonly string[] {
    this.#lines.length = 0
    this.#buffered += this.#text.decode(chunk, { stream: true })
    let start = 0
    let newline = this.#buffered.indexOf('\n', start)
    while (newline !== -1) {
      const line = this.#buffered.slice(start, newline).trim()
      if (line !== '') this.#lines.push(line)
      start = newline + 1
      newline = this.#buffered.indexOf('\n', start)
    }
    this.#buffered = this.#buffered.slice(start)
    return this.#lines
  }

  /** The last line, when the stream ended without a newline after it. */
  end(): readonly string[] {
    const last = (this.#buffered + this.#text.decode()).trim()
    this.#buffered = ''
    return last === '' ? [] : [last]
  }
}
