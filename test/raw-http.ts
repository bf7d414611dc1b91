import { connect } from 'node:net'
import { onTestFinished } from 'vitest'

export interface RawRequest {
  method: 'GET' | 'POST'
  /** Path and query. */
  path: string
  /** Sent as JSON when given. */
  body?: object
  /** Sent as x-request-id, to find the request's log lines. */
  requestId: string
}

/**
 * Sends one request over a raw socket and returns every byte of the answer: status line, headers and
 * body as they crossed the wire, chunk framing included. For checks that nothing the client receives
 * carries a secret.
 */
export async function exchange(base: string, request: RawRequest): Promise<string> {
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body)
  const head = [
    `${request.method} ${request.path} HTTP/1.1`,
    'host: 127.0.0.1',
    'connection: close',
    `x-request-id: ${request.requestId}`,
    ...(payload === undefined
      ? []
      : ['content-type: application/json', `content-length: ${Buffer.byteLength(payload)}`]),
  ]
  const socket = connect(Number(new URL(base).port), '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(`${head.join('\r\n')}\r\n\r\n${payload ?? ''}`)
  await closed
  return Buffer.concat(chunks).toString('utf8')
}

/** The status code of a raw answer. */
export function statusOf(wire: string): number {
  return Number(wire.slice('HTTP/1.1 '.length, 'HTTP/1.1 '.length + 3))
}
