import type { AppError } from '../errors.js'
import type { RelayEvent } from './stream-session.js'

/** Headers for an event stream that proxies must neither buffer nor compress. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * The chapter's SSE frames: `{"content": delta}` per text delta, `{"done": true}` at the end (with
 * `reason` when the answer was cut short), `{"error": "stream_error", "detail"}` on a failure after the
 * stream began, and comments (`: stream open` once the upstream answers, `: ping` as heartbeats). Every data frame carries an increasing `id:`.
 */
export async function* toSse(
  events: AsyncIterable<RelayEvent>,
  onFailure?: (error: AppError) => void,
  /** A data frame sent before any other (e.g. /rag's sources). */
  preface?: object,
) {
  let id = 0
  const frame = (payload: object) => `id: ${++id}\ndata: ${JSON.stringify(payload)}\n\n`
  if (preface) yield frame(preface)
  for await (const event of events) {
    if (event.type === 'heartbeat') {
      yield ': ping\n\n'
    } else if (event.type === 'part' && event.part.type === 'start') {
      // Puts the 200 and its headers on the wire now, not with the first token (reasoning can take long).
      yield ': stream open\n\n'
    } else if (event.type === 'failure') {
      onFailure?.(event.error)
      yield frame({ error: 'stream_error', detail: event.error.message })
    } else if (event.part.type === 'text-delta' && event.part.text !== '') {
      yield frame({ content: event.part.text })
    } else if (event.part.type === 'end') {
      const { finishReason } = event.part
      yield frame(finishReason === 'stop' ? { done: true } : { done: true, reason: finishReason })
    }
  }
}
