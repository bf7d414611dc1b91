import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { drained } from '../../src/streaming/drained.js'

/** One scripted answer of a fake upstream. */
export type UpstreamReply =
  | { kind: 'json'; status: number; body: string; headers?: Record<string, string>; delayMs?: number }
  /** A 200 whose body is written chunk by chunk, honouring backpressure. */
  | {
      kind: 'stream'
      contentType: string
      chunks: string[]
      /** Headers besides the content type. */
      headers?: Record<string, string>
      /** Wait before the headers. */
      headersDelayMs?: number
      /** Wait between chunks (a slow, dripping upstream). */
      delayMs?: number
      /** After this many chunks, destroy the socket (a dropped connection). */
      dropAfter?: number
      /** After this many chunks, stop writing but keep the connection open. */
      stallAfter?: number
    }
  /**
   * `head`, then `repeat` over and over for as long as the client reads (honouring backpressure): a body
   * with no end, or one far larger than any bound. Only the client closing the connection stops it.
   */
  | { kind: 'endless'; status: number; contentType: string; head?: string; repeat: string }
  /** Accept the request and never answer. */
  | { kind: 'stall' }
  /** Hold the request until `release` gives the reply (a test decides when the upstream answers). */
  | { kind: 'held'; release: Promise<UpstreamReply> }
  /** Destroy the socket as soon as the request arrives (ECONNRESET for the client). */
  | { kind: 'reset' }
  /** Decide from the request (e.g. answer /embeddings from its input). */
  | { kind: 'dynamic'; respond: (request: ReceivedRequest) => UpstreamReply }

/** A `held` reply and the function that releases it with the reply to send. */
export function heldReply(): { reply: UpstreamReply; release: (reply: UpstreamReply) => void } {
  let release: (reply: UpstreamReply) => void = () => {}
  const reply: UpstreamReply = { kind: 'held', release: new Promise((resolve) => (release = resolve)) }
  return { reply, release }
}

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined
  /** Milliseconds since the fake started, when the request arrived. */
  at: number
  /** The connection the request came on has closed (a keep-alive connection stays open after a reply). */
  connectionClosed: boolean
}

/**
 * A fake upstream HTTP server on a loopback port. Replies are scripted with `enqueue` (consumed in
 * order) and fall back to `defaultReply`; every request is recorded in `received`.
 */
export class FakeUpstream {
  readonly received: ReceivedRequest[] = []
  /** Connections accepted since start: keep-alive reuse keeps this low. */
  connectionsAccepted = 0
  /** Requests whose connection closed before the fake finished answering them (the client gave up). */
  abandonedRequests = 0
  /** Stream chunks written so far, over all requests. */
  chunksWritten = 0
  /** Streams held back right now: a write returned false and the fake waits for `drain` (backpressure). */
  waitingForDrain = 0
  defaultReply: UpstreamReply
  readonly #queue: UpstreamReply[] = []
  readonly #sockets = new Set<Socket>()
  /** The requests each open connection carried, marked when it closes. */
  readonly #requestsOn = new WeakMap<Socket, ReceivedRequest[]>()
  readonly #started = performance.now()
  readonly #basePath: string
  readonly #server = createServer((request, response) => {
    response.once('close', () => {
      if (!response.writableFinished) this.abandonedRequests++
    })
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const received: ReceivedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
        json: parseJson(body),
        at: performance.now() - this.#started,
        connectionClosed: request.socket.destroyed,
      }
      this.#requestsOn.get(request.socket)?.push(received)
      this.received.push(received)
      let reply = this.#queue.shift() ?? this.defaultReply
      while (reply.kind === 'dynamic') reply = reply.respond(this.received.at(-1) as ReceivedRequest)
      void this.#answer(reply, response)
    })
  })

  private constructor(basePath: string, defaultReply: UpstreamReply) {
    this.#basePath = basePath
    this.defaultReply = defaultReply
  }

  static async start(options: { basePath?: string; defaultReply: UpstreamReply }): Promise<FakeUpstream> {
    const fake = new FakeUpstream(options.basePath ?? '', options.defaultReply)
    fake.#server.on('connection', (socket) => {
      fake.connectionsAccepted++
      fake.#sockets.add(socket)
      const requests: ReceivedRequest[] = []
      fake.#requestsOn.set(socket, requests)
      socket.once('close', () => {
        fake.#sockets.delete(socket)
        for (const request of requests) request.connectionClosed = true
      })
    })
    fake.#server.listen(0, '127.0.0.1')
    await once(fake.#server, 'listening')
    return fake
  }

  /** The base URL to configure (OPENAI_BASE_URL, OLLAMA_HOST). */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${this.#basePath}`
  }

  /** Sockets currently open to the fake. */
  get openConnections(): number {
    return this.#sockets.size
  }

  /** Scripts the next replies, in order. */
  enqueue(...replies: UpstreamReply[]): this {
    this.#queue.push(...replies)
    return this
  }

  /** Forgets what was received and scripted. */
  reset(defaultReply: UpstreamReply = this.defaultReply): void {
    this.received.length = 0
    this.#queue.length = 0
    this.defaultReply = defaultReply
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    this.#server.close()
    await once(this.#server, 'close')
  }

  async #answer(reply: Exclude<UpstreamReply, { kind: 'dynamic' }>, response: ServerResponse): Promise<void> {
    if (reply.kind === 'stall') return
    if (reply.kind === 'held') {
      const released = await reply.release
      if (released.kind === 'dynamic')
        throw new Error('a held reply releases a scripted reply, not a dynamic one')
      return this.#answer(released, response)
    }
    if (reply.kind === 'reset') {
      response.socket?.destroy()
      return
    }
    if (reply.kind === 'json') {
      if (reply.delayMs) await sleep(reply.delayMs)
      response.writeHead(reply.status, reply.headers ?? { 'content-type': 'application/json' })
      response.end(reply.body)
      return
    }
    if (reply.kind === 'endless') return this.#answerEndlessly(reply, response)
    if (reply.headersDelayMs) await sleep(reply.headersDelayMs)
    response.writeHead(200, { ...reply.headers, 'content-type': reply.contentType })
    response.flushHeaders()
    for (const [index, chunk] of reply.chunks.entries()) {
      if (response.destroyed) return
      if (index === reply.dropAfter) {
        response.socket?.destroy()
        return
      }
      if (index === reply.stallAfter) return
      if (reply.delayMs && index > 0) await sleep(reply.delayMs)
      this.chunksWritten++
      if (!response.write(chunk)) {
        this.waitingForDrain++
        await drained(response)
        this.waitingForDrain--
      }
    }
    response.end()
  }

  async #answerEndlessly(reply: Extract<UpstreamReply, { kind: 'endless' }>, response: ServerResponse) {
    response.writeHead(reply.status, { 'content-type': reply.contentType })
    if (reply.head) response.write(reply.head)
    // Writes of at least 16 KiB, so the loop meets backpressure (and yields) after a few of them.
    const chunk = Buffer.from(reply.repeat.repeat(Math.ceil(16_384 / reply.repeat.length)))
    while (!response.destroyed) {
      this.chunksWritten++
      if (!response.write(chunk)) {
        this.waitingForDrain++
        await drained(response)
        this.waitingForDrain--
      }
    }
  }
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}
