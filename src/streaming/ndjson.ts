import type { WireFormat } from './wire-format.js'

/**
 * Relays the upstream's own NDJSON lines, each ending in `\n` (the chapter lost the newlines). A failure
 * after the stream began becomes one last `{"error": "<safe message>"}` line, Ollama's own shape
 * (`{"error": "content_filtered"}` when the content policy withheld the rest: the error's `streamCode`). No
 * heartbeats: a blank line is no NDJSON value, and Ollama clients do not expect one.
 */
export function ndjson(): WireFormat {
  return {
    headers: {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    },
    encode(event) {
      if (event.type === 'failure') {
        return `${JSON.stringify({ error: event.error.streamCode ?? event.error.message })}\n`
      }
      return event.part.raw === undefined ? undefined : `${event.part.raw}\n`
    },
  }
}
