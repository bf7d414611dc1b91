import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { type Agent, type Dispatcher, request } from 'undici'

/**
 * A `fetch` for the OpenAI SDK built on undici's `request()` over the app's pool. WHATWG `fetch` costs
 * much more per call (measured: 0.82 ms against 0.46 ms per non-streaming Responses call through the
 * SDK, BENCHMARKS.md), and so does building a WHATWG `Response` around each answer: a web stream
 * bridged from the Node body and a `Headers` object, both thrown away once the SDK has read the JSON.
 * The SDK reads only status, ok, url, headers (get, entries) and the body as text or as a stream, so it
 * gets a `LeanResponse` that makes the web stream only when asked for one (streams, error bodies).
 * The SDK keeps its own timeout and abort handling through `init.signal`.
 */
export function createUndiciFetch(dispatcher: Agent): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input instanceof Request ? input.url : input)
    const response = await request(url, {
      method: (init.method ?? 'GET') as 'GET',
      headers: toHeaderRecord(init.headers),
      body: init.body as string | Buffer | undefined,
      signal: init.signal ?? undefined,
      dispatcher,
    })
    return new LeanResponse(url, response) as unknown as Response
  }) as typeof globalThis.fetch
}

/**
 * The body as bytes: the Node stream itself when the response came from this fetch (no web-stream
 * bridge per chunk, nor its buffers per open stream), else the WHATWG body.
 */
export function bodyOf(response: Response): AsyncIterable<Uint8Array> {
  const lean = response as unknown as LeanResponse
  if (lean instanceof LeanResponse) return lean.nodeBody()
  if (!response.body) throw new TypeError('the response has no body')
  return response.body as unknown as AsyncIterable<Uint8Array>
}

/** The part of a WHATWG `Response` the SDK uses, over undici's answer, without copying it. */
class LeanResponse {
  readonly status: number
  readonly ok: boolean
  readonly url: string
  readonly headers: LeanHeaders
  readonly #body: Dispatcher.ResponseData['body']
  #stream: ReadableStream<Uint8Array> | null | undefined

  constructor(url: string, response: Dispatcher.ResponseData) {
    this.url = url
    this.status = response.statusCode
    this.ok = response.statusCode >= 200 && response.statusCode < 300
    this.headers = new LeanHeaders(response.headers)
    this.#body = response.body
  }

  /** Made on first access only: a body-less status has none, as with `fetch`. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined) {
      const empty = this.status === 204 || this.status === 304
      if (empty) this.#body.resume()
      this.#stream = empty ? null : (Readable.toWeb(this.#body) as ReadableStream<Uint8Array>)
    }
    return this.#stream
  }

  /** The undici body, for a reader that takes Node streams; then the web stream is never made. */
  nodeBody(): AsyncIterable<Uint8Array> {
    if (this.#stream) throw new TypeError('the body is already read as a web stream')
    return this.#body
  }

  get bodyUsed(): boolean {
    return this.#body.bodyUsed
  }

  text(): Promise<string> {
    return this.#stream ? new Response(this.#stream).text() : this.#body.text()
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
}

/** Read-only `Headers` over undici's lowercase header record. */
class LeanHeaders {
  readonly #record: IncomingHttpHeaders

  constructor(record: IncomingHttpHeaders) {
    this.#record = record
  }

  get(name: string): string | null {
    const value = this.#record[name.toLowerCase()]
    if (value === undefined) return null
    return Array.isArray(value) ? value.join(', ') : value
  }

  has(name: string): boolean {
    return this.#record[name.toLowerCase()] !== undefined
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.#record).sort()) {
      const value = this.get(name)
      if (value !== null) yield [name, value]
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value
  }

  forEach(callback: (value: string, name: string, headers: LeanHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this)
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }
}

/** The SDK hands over a `Headers` object; undici's `request()` takes a plain record. */
function toHeaderRecord(headers: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {}
  const source = headers instanceof Headers ? headers : new Headers(headers)
  source.forEach((value, name) => {
    record[name] = value
  })
  return record
}
