import type { IncomingHttpHeaders } from 'node:http'
import { type Agent, type Dispatcher, request, errors as undiciErrors } from 'undici'
import {
  type AppError,
  ClientClosedRequestError,
  errorFromUpstreamStatus,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import type { CallOptions } from './provider.js'
import { parseRetryAfterMs } from './retry-after.js'

/** Where an upstream lives and how the app reaches it. */
export interface UpstreamEndpoint {
  /** The app's one keep-alive connection pool. */
  dispatcher: Agent
  /** Longest wait for response headers (and, without streaming, the whole body). */
  timeoutMs: number
}

export interface UpstreamPost {
  /** Names the upstream in logs ("OpenAI", "Ollama"). */
  upstream: string
  /** Extra headers, e.g. credentials. */
  headers?: Record<string, string>
  /** Sent as JSON. */
  payload: object
  /** A stream's gaps are policed by the stream session, so its body has no idle timeout here. */
  stream: boolean
  /** The model asked for, named in a 404. */
  model: string
  call: CallOptions
}

/**
 * One JSON POST over the app's pool, the way every provider adapter calls its upstream: one undici
 * `request()` (no fetch, no SDK: measured in BENCHMARKS.md, either costs more than the rest of the
 * request). Resolves with the body of a 2xx answer; rejects with our typed error for anything else,
 * reading the upstream's error body (`{"error": "..."}` from Ollama, `{"error": {message, code}}` from
 * OpenAI) and its Retry-After.
 */
export async function postJson(
  endpoint: UpstreamEndpoint,
  url: URL | string,
  post: UpstreamPost,
): Promise<Body> {
  let response: Dispatcher.ResponseData
  try {
    response = await request(url, {
      method: 'POST',
      headers: {
        ...post.headers,
        'content-type': 'application/json',
        'x-request-id': post.call.requestId,
      },
      body: JSON.stringify(post.payload),
      signal: post.call.signal,
      dispatcher: endpoint.dispatcher,
      headersTimeout: endpoint.timeoutMs,
      bodyTimeout: post.stream ? 0 : endpoint.timeoutMs,
    })
  } catch (error) {
    throw translateTransportError(error, post.call.signal, post.upstream)
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response.body
  const text = await response.body.text().catch(() => '')
  const { message, code } = readErrorBody(text)
  throw errorFromUpstreamStatus({
    status: response.statusCode,
    message,
    code,
    model: post.model,
    retryAfterMs: parseRetryAfterMs(headerView(response.headers)),
    cause: text,
  })
}

type Body = Dispatcher.ResponseData['body']

/**
 * A streamed body's chunks, for a reader that stops at the upstream's terminal event, usually just before
 * the body's last bytes. Stopping must not destroy the body: that builds an AbortError with its stack
 * for every stream (~3 % of /stream's CPU, measured); `releaseBody` drains the tail instead.
 */
export function chunksOf(body: Body): AsyncIterable<Uint8Array> {
  return body.iterator({ destroyOnReturn: false })
}

/** Lets go of a body once its reader is done: the rest is read and dropped (undici's dump, ≤128 KiB). */
export function releaseBody(body: Body): void {
  void body.dump()
}

/** Reads a whole JSON answer; a body that is not JSON is the upstream failing us. */
export async function readJson<T>(body: Body, call: CallOptions, upstream: string): Promise<T> {
  try {
    return (await body.json()) as T
  } catch (error) {
    throw translateTransportError(error, call.signal, upstream)
  }
}

/** A failure with no HTTP status: the client left, the upstream was too slow, or the connection broke. */
export function translateTransportError(error: unknown, signal: AbortSignal, upstream: string): AppError {
  if (signal.aborted) return new ClientClosedRequestError({ cause: error })
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamTimeoutError({ cause: error, logDetail: `${upstream} timed out` })
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new UpstreamUnavailableError({ cause: error, logDetail: `${upstream} failed: ${detail}` })
}

function readErrorBody(text: string): { message: string; code?: string } {
  try {
    const { error } = JSON.parse(text) as { error?: unknown }
    if (typeof error === 'string') return { message: error }
    if (error && typeof error === 'object') {
      const { message, code } = error as { message?: unknown; code?: unknown }
      return {
        message: typeof message === 'string' ? message : text,
        code: typeof code === 'string' ? code : undefined,
      }
    }
  } catch {
    // Not JSON: the text itself is all there is.
  }
  return { message: text }
}

function headerView(headers: IncomingHttpHeaders): Pick<Headers, 'get'> {
  return {
    get: (name) => {
      const value = headers[name]
      return (Array.isArray(value) ? value[0] : value) ?? null
    },
  }
}
