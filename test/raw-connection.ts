import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

/** One HTTP/1.1 response as it came off the wire. */
export interface RawResponse {
  status: number
  /** Header names in lower case. */
  headers: Record<string, string>
  body: string
}

/**
 * A client connection that writes raw bytes and keeps all the server sends: for behaviour that lives in
 * the socket (slow or malformed requests, errors Node raises before a request exists). Destroyed when
 * the test finishes.
 */
export class RawConnection {
  /** Everything received so far, as text. */
  received = ''
  /** The error the socket failed with, if any (ECONNRESET, EPIPE). */
  error: NodeJS.ErrnoException | undefined
  /** Resolves once the connection is closed, by either side. */
  readonly closed: Promise<void>

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.received += chunk
    })
    socket.on('error', (error) => {
      this.error = error
    })
    // Not events.once: it rejects on the socket's error, and a reset is an outcome tests look at.
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
  }

  /** Connects to the server at `base` (an http:// URL). */
  static async open(base: string): Promise<RawConnection> {
    const { hostname, port } = new URL(base)
    const socket = connect(Number(port), hostname)
    onTestFinished(() => {
      socket.destroy()
    })
    await once(socket, 'connect')
    return new RawConnection(socket)
  }

  /** Writes `data`; resolves once it has been handed to the kernel, rejects when the socket failed. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(error) : resolve()))
    })
  }

  /** Whether the connection is closed. */
  get isClosed(): boolean {
    return this.socket.destroyed
  }

  /** The whole responses received so far, in order. */
  responses(): RawResponse[] {
    const responses: RawResponse[] = []
    let rest = this.received
    while (true) {
      const headEnd = rest.indexOf('\r\n\r\n')
      const statusLine = /^HTTP\/1\.1 (\d{3}) /.exec(rest)
      if (headEnd < 0 || !statusLine) return responses
      const headers: Record<string, string> = {}
      for (const line of rest.slice(0, headEnd).split('\r\n').slice(1)) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers['content-length'] ?? 0)
      const bodyEnd = headEnd + 4 + length
      if (rest.length < bodyEnd) return responses
      responses.push({ status: Number(statusLine[1]), headers, body: rest.slice(headEnd + 4, bodyEnd) })
      rest = rest.slice(bodyEnd)
    }
  }
}
