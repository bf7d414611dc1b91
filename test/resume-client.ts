import { EventSource } from 'eventsource'
import { onTestFinished } from 'vitest'
import { waitFor } from './wait-for.js'

/** What a resuming EventSource saw: its messages, and every connection it made. */
export interface ResumingClient {
  /** Data frames in the order they arrived, with their ids. */
  messages: { id: string; data: Record<string, unknown> }[]
  /** The Last-Event-ID each connection carried (null: none), and the status it got. */
  connections: { lastEventId: string | null; status: number }[]
  source: EventSource
  /** The concatenated `content` of every message. */
  text(): string
}

/**
 * A real EventSource (the `eventsource` package) that never closes itself, as a page that ignores the
 * done frame. Its connections go through a fetch that begins each answer with `retry: 10` (reconnect at
 * once instead of after 3 s) and cuts its first connection after `cutAfter` data frames, as a network
 * drop would: the socket is closed, and the server sees the client go. `route(url, attempt)` may send a
 * reconnection elsewhere (another instance behind a balancer). Closed when the test finishes.
 */
export function resumingClient(
  url: string,
  options: { cutAfter?: number; route?: (url: string, attempt: number) => string } = {},
): ResumingClient {
  const messages: ResumingClient['messages'] = []
  const connections: ResumingClient['connections'] = []
  const cuttingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const attempt = connections.length
    const connection = { lastEventId: new Headers(init?.headers).get('last-event-id'), status: 0 }
    connections.push(connection)
    const controller = new AbortController()
    init?.signal?.addEventListener('abort', () => controller.abort())
    const target = options.route ? options.route(String(input), attempt) : String(input)
    const response = await fetch(target, { ...init, signal: controller.signal })
    connection.status = response.status
    if (response.status !== 200 || response.body === null) return response
    const cut = attempt === 0 ? options.cutAfter : undefined
    return new Response(
      cutAfter(response.body, cut, () => controller.abort()),
      {
        status: 200,
        headers: response.headers,
      },
    )
  }
  const source = new EventSource(url, { fetch: cuttingFetch })
  onTestFinished(() => source.close())
  source.onmessage = (event) => messages.push({ id: event.lastEventId, data: JSON.parse(event.data) })
  const text = () => messages.map((message) => message.data.content ?? '').join('')
  return { messages, connections, source, text }
}

/** The body, after a `retry: 10` field, frame by frame; after `cut` data frames it fails and `abort` closes the socket. */
function cutAfter(body: ReadableStream<Uint8Array>, cut: number | undefined, abort: () => void) {
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  let pending = ''
  let frames = 0
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('retry: 10\n\n'))
      },
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true })
        let end = pending.indexOf('\n\n')
        while (end !== -1) {
          const frame = pending.slice(0, end + 2)
          pending = pending.slice(end + 2)
          controller.enqueue(encoder.encode(frame))
          if (frame.includes('data:') && ++frames === cut) {
            abort()
            controller.error(new Error('connection cut'))
            return
          }
          end = pending.indexOf('\n\n')
        }
      },
    }),
  )
}

/** Resolves once the client has stopped for good (a 204, or a refusal). */
export function stopped(client: ResumingClient, timeout = 10_000): Promise<void> {
  return waitFor(() => client.source.readyState === client.source.CLOSED, { timeout })
}
