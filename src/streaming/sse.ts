import type { WireFormat } from './wire-format.js'

export interface SseOptions {
  /** A `: ping` comment after this long without a frame. */
  heartbeatMs: number
  /** A data frame sent before any other (/rag's sources). */
  preface?: object
  /**
   * A resumable stream's id (README "Resumable streams"): every frame's id is then `<streamId>:<seq>`,
   * its place in the replay log (the preface's is 0), and the stream opens with a
   * `{"stream_id": "<streamId>"}` frame instead of the `: stream open` comment, so a client cut off
   * before the first delta has an id to resume from (EventSource records only the ids of data frames).
   */
  streamId?: string
}

/**
 * The chapter's SSE frames: `{"content": delta}` per text delta, `{"done": true}` at the end (with
 * `reason` when the answer was cut short), `{"error": "stream_error", "detail"}` on a failure after the
 * stream began (`"content_filtered"` instead when the content policy withheld the rest, or the error's
 * own `streamCode`), and comments (`: stream open` once the upstream answers, `: ping` as heartbeats). Every
 * data frame carries an increasing `id:`.
 */
export function sse(options: SseOptions): WireFormat {
  const { streamId } = options
  let counter = 0
  const data = (payload: object, seq?: number) =>
    `id: ${seq === undefined ? ++counter : `${streamId}:${seq}`}\ndata: ${JSON.stringify(payload)}\n\n`
  return {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    },
    preface: options.preface ? data(options.preface, streamId === undefined ? undefined : 0) : undefined,
    heartbeat: { frame: ': ping\n\n', intervalMs: options.heartbeatMs },
    encode(event, seq) {
      if (event.type === 'failure') {
        const { streamCode = 'stream_error', message } = event.error
        return data({ error: streamCode, detail: message }, seq)
      }
      const { part } = event
      if (part.type === 'start') {
        // Puts the 200 and its headers on the wire now, not with the first token (reasoning can take long).
        return seq === undefined ? ': stream open\n\n' : data({ stream_id: streamId }, seq)
      }
      if (part.type === 'text-delta') return part.text === '' ? undefined : data({ content: part.text }, seq)
      if (part.type === 'end') {
        const { finishReason } = part
        return data(finishReason === 'stop' ? { done: true } : { done: true, reason: finishReason }, seq)
      }
      return undefined
    },
  }
}
