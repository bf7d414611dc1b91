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

/** Splits a byte stream into its non-empty lines, across chunk boundaries and multi-byte characters. */
export async function* readLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true })
    let start = 0
    let newline = buffered.indexOf('\n', start)
    while (newline !== -1) {
      const line = buffered.slice(start, newline).trim()
      if (line !== '') yield line
      start = newline + 1
      newline = buffered.indexOf('\n', start)
    }
    buffered = buffered.slice(start)
  }
  const last = (buffered + decoder.decode()).trim()
  if (last !== '') yield last
}
