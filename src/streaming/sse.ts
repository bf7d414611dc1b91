import type { WireFormat } from './wire-format.js'

export interface SseOptions {
  /** A `: ping` comment after this long without a frame. */
  heartbeatMs: number
  /** A data frame sent before any other (/rag's sources). */
  preface?: object
}

/**
 * The chapter's SSE frames: `{"content": delta}` per text delta, `{"done": true}` at the end (with
 * `reason` when the answer was cut short), `{"error": "stream_error", "detail"}` on a failure after the
 * stream began (`"content_filtered"` instead when the content policy withheld the rest, or the error's
 * own `streamCode`), and comments (`: stream open` once the upstream answers, `: ping` as heartbeats). Every
 * data frame carries an increasing `id:`.
 */
export function sse(options: SseOptions): WireFormat {
  let id = 0
  const data = (payload: object) => `id: ${++id}\ndata: ${JSON.stringify(payload)}\n\n`
  return {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    },
    preface: options.preface ? data(options.preface) : undefined,
    heartbeat: { frame: ': ping\n\n', intervalMs: options.heartbeatMs },
    encode(event) {
      if (event.type === 'failure') {
        const { streamCode = 'stream_error', message } = event.error
        return data({ error: streamCode, detail: message })
      }
      const { part } = event
      // Puts the 200 and its headers on the wire now, not with the first token (reasoning can take long).
      if (part.type === 'start') return ': stream open\n\n'
      if (part.type === 'text-delta') return part.text === '' ? undefined : data({ content: part.text })
      if (part.type === 'end') {
        const { finishReason } = part
        return data(finishReason === 'stop' ? { done: true } : { done: true, reason: finishReason })
      }
      return undefined
    },
  }
}
