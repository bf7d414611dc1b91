// Calls to the server, each turned into what the page shows: frames as they come, failures in words.
import { ndjsonObjects, sseFrames } from './stream-reader.js'

/** A failure worth showing as it is: `message` is for the user. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

function headersFor(apiKey, extra = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...extra }
  // The key lives in the page's memory only: never in storage, a cookie or a URL.
  if (apiKey) headers.authorization = `Bearer ${apiKey}`
  return headers
}

/** The server's `{"detail"}` as a sentence: a string, or the list a 422 carries. */
async function detailOf(response) {
  try {
    const { detail } = await response.json()
    if (Array.isArray(detail)) return detail.map((item) => item.msg).join('; ')
    return typeof detail === 'string' ? detail : ''
  } catch {
    return ''
  }
}

/** An HTTP error answer in words, with what the user can do about it. */
export async function errorFor(response) {
  const detail = await detailOf(response)
  const status = response.status
  if (status === 401) {
    return new ApiError('This server needs an API key: enter one in "API key" and send again.', status)
  }
  if (status === 403) {
    return new ApiError(`Not allowed${detail ? `: ${detail}` : ''}. Check the API key's scope.`, status)
  }
  if (status === 429) {
    const seconds = Number(response.headers.get('retry-after'))
    const wait = Number.isFinite(seconds) && seconds > 0 ? `in ${seconds} s` : 'in a moment'
    return new ApiError(`Too many requests: try again ${wait}.`, status)
  }
  if (status === 422) return new ApiError(`The request was refused: ${detail}`, status)
  if (status >= 500) {
    return new ApiError(
      `The server could not answer (${status}${detail ? `: ${detail}` : ''}). Try again later.`,
      status,
    )
  }
  return new ApiError(`The server answered ${status}${detail ? `: ${detail}` : ''}.`, status)
}

/** A frame that ends a stream with a failure, in words; undefined for any other frame. */
export function failureOf(frame) {
  if (frame.error === 'content_filtered') {
    return 'The answer was stopped by the content filter.'
  }
  if (frame.error) return `The answer was cut short: ${frame.detail ?? frame.error}.`
  return undefined
}

/** How a `done` frame ended the answer, in words. */
export function endOf(frame) {
  if (!frame.reason) return 'Done.'
  if (frame.reason === 'no_context') return 'The documents contain nothing relevant to this question.'
  return `Done (cut short: ${frame.reason}).`
}

/**
 * Stop, for a resumable stream: the server keeps generating for a while after its client leaves, so a
 * client that comes back can resume (README "Resumable streams"). Stop means the answer is not wanted:
 * cancel the stream by its id, which aborts the upstream call at once.
 */
function cancelOnAbort(signal, streamId, apiKey) {
  if (!streamId) return
  const cancel = () => {
    const headers = headersFor(apiKey)
    delete headers['content-type']
    fetch(`/stream/${encodeURIComponent(streamId)}`, { method: 'DELETE', headers }).catch(() => {})
  }
  signal.addEventListener('abort', cancel, { once: true })
}

const streamOf = (id) => (id?.includes(':') ? id.slice(0, id.lastIndexOf(':')) : undefined)

/**
 * POSTs and reads server-sent events, calling `onFrame(data)` per frame until `done` or an error frame.
 * A connection lost mid-stream is asked again once with `Last-Event-ID` (the last `id:` seen): a server
 * that resumes the stream (ids `<stream-id>:<seq>`) sends what follows, or 204 when nothing does; one
 * that starts over calls `onRestart()` first, so the page drops the partial answer.
 */
export async function streamSse(path, body, { apiKey, signal, onFrame, onRestart }) {
  let lastId
  for (let attempt = 0; ; attempt++) {
    const extra = lastId === undefined ? {} : { 'last-event-id': lastId }
    const response = await fetch(path, {
      method: 'POST',
      headers: headersFor(apiKey, { ...extra, accept: 'text/event-stream' }),
      body: JSON.stringify(body),
      signal,
    })
    // 204 to a resumption: the stream had ended, nothing follows (the same as its `done` frame).
    if (response.status === 204) return onFrame({ done: true })
    if (!response.ok) throw await errorFor(response)
    if (attempt === 0) cancelOnAbort(signal, response.headers.get('x-stream-id'), apiKey)
    let first = attempt > 0
    try {
      for await (const frame of sseFrames(response.body)) {
        if (first && (streamOf(frame.id) === undefined || streamOf(frame.id) !== streamOf(lastId))) {
          onRestart()
        }
        first = false
        lastId = frame.id
        onFrame(frame.data)
        if (frame.data.done || frame.data.error) return
      }
    } catch (error) {
      // An abort (Stop) or a frame that is not JSON is final; a network error may be resumed.
      if (signal.aborted || !(error instanceof TypeError)) throw error
    }
    if (attempt > 0 || lastId === undefined) {
      throw new ApiError('The connection was lost before the answer finished.', 0)
    }
  }
}

/** POSTs and reads /local-stream's NDJSON, calling `onLine(object)` per line until `done` or an error. */
export async function streamNdjson(path, body, { apiKey, signal, onLine }) {
  const response = await fetch(path, {
    method: 'POST',
    headers: headersFor(apiKey),
    body: JSON.stringify(body),
    signal,
  })
  if (!response.ok) throw await errorFor(response)
  try {
    for await (const line of ndjsonObjects(response.body)) {
      onLine(line)
      if (line.done || line.error) return
    }
  } catch (error) {
    if (signal.aborted || !(error instanceof TypeError)) throw error
  }
  throw new ApiError('The connection was lost before the answer finished.', 0)
}

/** POSTs JSON (or nothing) and returns the JSON answer. */
export async function postJson(path, body, { apiKey, signal }) {
  const headers = headersFor(apiKey)
  // Fastify refuses an empty body announced as JSON.
  if (body === undefined) delete headers['content-type']
  const response = await fetch(path, { method: 'POST', headers, body: body && JSON.stringify(body), signal })
  if (!response.ok) throw await errorFor(response)
  return response.json()
}

/**
 * GET /stream with the browser's EventSource, which can send no header: with a key, a short-lived token
 * from POST /auth/stream-token goes in the URL instead. Closed on the terminal frame, or it reconnects
 * and asks again. Resolves when the stream ends; `signal` closes it.
 */
export async function streamWithEventSource(query, { apiKey, signal, onFrame }) {
  const parameters = new URLSearchParams(query)
  if (apiKey) {
    const { token } = await postJson('/auth/stream-token', undefined, { apiKey, signal })
    parameters.set('access_token', token)
  }
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/stream?${parameters}`)
    const close = (error) => {
      source.close()
      signal.removeEventListener('abort', onAbort)
      error ? reject(error) : resolve()
    }
    const onAbort = () => close(signal.reason)
    signal.addEventListener('abort', onAbort)
    source.onmessage = (event) => {
      const frame = JSON.parse(event.data)
      if (frame.stream_id) cancelOnAbort(signal, frame.stream_id, apiKey)
      onFrame(frame)
      if (frame.done || frame.error) close()
    }
    // EventSource hides why (a refused token, a rate limit, a lost connection): asking again to find
    // out could start a second answer, so say what it can be.
    source.onerror = () => {
      close(new ApiError('The stream failed or was refused (EventSource does not say why).', 0))
    }
  })
}
