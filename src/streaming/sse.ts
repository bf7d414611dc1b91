import type { AppError } from '../errors.js'
import type { WireFormat } from './streams.js'

/** Headers for an event stream that proxies must neither buffer nor compress. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * The chapter's SSE frames: `{"content": delta}` per text delta, `{"done": true}` at the end (with
 * `reason` when the answer was cut short), `{"error": "stream_error", "detail"}` on a failure after the
 * stream began, and comments (`: stream open` once the upstream answers, `: ping` as heartbeats). Every
 * data frame carries an increasing `id:`. `preface` is a data frame sent before any other (/rag's sources).
 */
export function sseFormat(onFailure?: (error: AppError) => void, preface?: object): WireFormat {
  let id = 0
  const data = (payload: object) => `id: ${++id}\ndata: ${JSON.stringify(payload)}\n\n`
  return {
    first: preface ? data(preface) : undefined,
    frame(event) {
      if (event.type === 'heartbeat') return ': ping\n\n'
      if (event.type === 'failure') {
        onFailure?.(event.error)
        return data({ error: 'stream_error', detail: event.error.message })
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
