import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { readFixture, readHead } from '../fixtures.js'

/** One scripted answer of the fake. */
export type UpstreamReply =
  | { kind: 'json'; status: number; body: string; headers?: Record<string, string>; delayMs?: number }
  /** Accept the request and never answer. */
  | { kind: 'stall' }
  /** Destroy the socket as soon as the request arrives (ECONNRESET for the client). */
  | { kind: 'reset' }

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined
  /** Milliseconds since the fake started, when the request arrived. */
  at: number
}

/**
 * A JSON reply replaying a recorded fixture: `openai-error-429` uses the .json and .headers.txt pair;
 * `head` borrows the status and headers of another fixture when the body has none of its own.
 */
export function fixtureReply(
  name: string,
  options: { head?: string; headers?: Record<string, string> } = {},
): UpstreamReply {
  const head = readHead(`${options.head ?? name}.headers.txt`)
  return {
    kind: 'json',
    status: head.status,
    body: readFixture(`${name}.json`),
    headers: { ...head.headers, ...options.headers },
  }
}

/** A JSON error in OpenAI's envelope with any status. */
export function errorReply(
  status: number,
  message = 'fake upstream failure',
  extra: Partial<UpstreamReply> = {},
): UpstreamReply {
  const body = `${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } }, null, 2)}\n`
  return {
    kind: 'json',
    status,
    body,
    headers: { 'content-type': 'application/json' },
    ...extra,
  } as UpstreamReply
}

export const okReply = (): UpstreamReply => fixtureReply('openai-response')

/**
 * A fake OpenAI Responses API on a loopback port. Replies are scripted with `enqueue` (consumed in order)
 * and fall back to `defaultReply`; every request is recorded in `received`.
 */
export class FakeOpenAI {
  readonly received: ReceivedRequest[] = []
  /** Connections accepted since start: keep-alive reuse keeps this low. */
  connectionsAccepted = 0
  /** Requests whose connection closed before the fake answered them (the client gave up). */
  abandonedRequests = 0
  defaultReply: UpstreamReply = okReply()
  readonly #queue: UpstreamReply[] = []
  readonly #sockets = new Set<Socket>()
  readonly #started = performance.now()
  readonly #server = createServer((request, response) => {
    response.once('close', () => {
      if (!response.writableFinished) this.abandonedRequests++
    })
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      this.received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
        json: parseJson(body),
        at: performance.now() - this.#started,
      })
      this.#answer(this.#queue.shift() ?? this.defaultReply, response)
    })
  })

  static async start(): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI()
    fake.#server.on('connection', (socket) => {
      fake.connectionsAccepted++
      fake.#sockets.add(socket)
      socket.once('close', () => fake.#sockets.delete(socket))
    })
    fake.#server.listen(0, '127.0.0.1')
    await once(fake.#server, 'listening')
    return fake
  }

  /** The base URL to give the SDK (OPENAI_BASE_URL). */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`
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

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    this.#server.close()
    await once(this.#server, 'close')
  }

  #answer(reply: UpstreamReply, response: ServerResponse) {
    if (reply.kind === 'stall') return
    if (reply.kind === 'reset') {
      response.socket?.destroy()
      return
    }
    const send = () => {
      response.writeHead(reply.status, reply.headers ?? { 'content-type': 'application/json' })
      response.end(reply.body)
    }
    if (reply.delayMs) setTimeout(send, reply.delayMs)
    else send()
  }
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}
