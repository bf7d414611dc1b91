import { type Agent, type Dispatcher, request, errors as undiciErrors } from 'undici'
import type { CancelSignal } from '../cancellation.js'
import { AppError, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.js'
import { OverLimitError, readAtMost } from './over-limit.js'
import type { CallOptions, StreamPart } from './provider.js'
import { parseRetryAfterMs } from './retry-after.js'
import { errorFromUpstreamStatus } from './upstream-errors.js'

type Body = Dispatcher.ResponseData['body']

/** Where an upstream lives and how the app reaches it. */
export interface UpstreamEndpoint {
  /** The app's one keep-alive connection pool. */
  dispatcher: Agent
  /** Longest wait for response headers (and, without streaming, the whole body). */
  timeoutMs: number
  /** Most bytes of a whole answer (an error body included) read before giving up (UPSTREAM_MAX_ANSWER_BYTES). */
  maxAnswerBytes: number
  /** Most bytes of one streamed event or line (UPSTREAM_MAX_EVENT_BYTES). */
  maxEventBytes: number
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
  // An error body past the bound is not read at all: cut short, it could end inside our key.
  const text = await readAtMost(response.body, endpoint.maxAnswerBytes, 'an error body').then(
    (bytes) => bytes.toString('utf8'),
    () => '',
  )
  const { message, code } = readErrorBody(text)
  throw errorFromUpstreamStatus({
    status: response.statusCode,
    message,
    code,
    model: post.model,
    retryAfterMs: parseRetryAfterMs(response.headers),
    cause: text,
  })
}

/** Reads a streamed body synchronously, chunk by chunk, into its wire items (lines, events). */
export interface ItemDecoder<Item> {
  /** The items this chunk completes (up to a failure), in a new array the caller owns. */
  push(chunk: Uint8Array): Item[]
  /** Why decoding stopped (a bound passed, an item that cannot be read), once it has. */
  readonly failure: unknown
  /** The items a body ending without a last separator still completes. */
  end(): Item[]
}

/**
 * A provider's stream, the same way for every upstream: opens the request, decodes each chunk with
 * `decoder`, maps its items to parts one at a time (parts before a failure still reach the client) and
 * ends at the first `end` part. The body's loop is the only async step per chunk (one
 * more generator per event cost CPU on /stream, BENCHMARKS.md). Stopping at the end part does not
 * destroy the body, which would build an AbortError with its stack per stream: the tail is drained
 * instead (undici's dump, ≤128 KiB). An abort ends the stream silently (the caller knows why); a body
 * that ends without an end part is the upstream failing; an event or line past the decoder's bound
 * destroys the body (closing the connection) and fails the stream, without a retry: the same request
 * would get the same answer.
 */
export async function* streamParts<Item>(
  open: () => Promise<Body>,
  call: CallOptions,
  upstream: string,
  decoder: ItemDecoder<Item>,
  /** The part an item stands for; throws the typed error of an in-band failure. */
  partOf: (item: Item) => StreamPart,
): AsyncGenerator<StreamPart> {
  const body = await open()
  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      for (const item of decoder.push(chunk)) {
        const part = partOf(item)
        yield part
        if (part.type === 'end') return
      }
      // After the parts the same chunk completed before it: they still reach the client.
      if (decoder.failure !== undefined) throw decoder.failure
    }
    for (const item of decoder.end()) {
      const part = partOf(item)
      yield part
      if (part.type === 'end') return
    }
  } catch (error) {
    if (call.signal.aborted) return
    if (error instanceof OverLimitError) {
      body.destroy()
      throw overLimit(error, upstream, 'UPSTREAM_MAX_EVENT_BYTES')
    }
    throw error instanceof AppError ? error : translateTransportError(error, call.signal, upstream)
  } finally {
    if (!body.destroyed) void body.dump()
  }
  if (call.signal.aborted) return
  throw new UpstreamUnavailableError({ logDetail: `${upstream} stream ended without its last event` })
}

/** Decodes a whole answer as undici's `body.json()` does (a leading BOM is skipped). */
const utf8 = new TextDecoder()

/**
 * Reads a whole JSON answer of at most `maxBytes`; a body that is not JSON is the upstream failing us,
 * one past the bound too (not retried: the same request would get the same answer).
 */
export async function readJson<T>(
  body: Body,
  call: CallOptions,
  upstream: string,
  maxBytes: number,
): Promise<T> {
  try {
    return JSON.parse(utf8.decode(await readAtMost(body, maxBytes, 'an answer'))) as T
  } catch (error) {
    if (error instanceof OverLimitError) throw overLimit(error, upstream, 'UPSTREAM_MAX_ANSWER_BYTES')
    throw translateTransportError(error, call.signal, upstream)
  }
}

function overLimit(error: OverLimitError, upstream: string, setting: string): AppError {
  return new UpstreamUnavailableError({
    cause: error,
    isRetryable: false,
    logDetail: `${upstream} sent ${error.message}: over ${setting}`,
  })
}

/** A failure with no HTTP status: the client left, the upstream was too slow, or the connection broke. */
function translateTransportError(error: unknown, signal: CancelSignal, upstream: string): AppError {
  if (signal.reason) return signal.reason
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamTimeoutError({ cause: error, logDetail: `${upstream} timed out` })
  }
  // V8's JSON error quotes the text around the fault, which can cut a key in two (no mask finds half a
  // key): neither its message nor the error itself is kept.
  if (error instanceof SyntaxError) {
    return new UpstreamUnavailableError({ logDetail: `${upstream} sent malformed JSON` })
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
