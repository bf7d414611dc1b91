import { createParser, type EventSourceMessage } from 'eventsource-parser'
import type { ResponseStreamEvent } from 'openai/resources/responses/responses'

/** Events whose payload the relay reads; every other event only proves the stream is alive. */
const READ = new Set([
  'response.created',
  'response.output_text.delta',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
])

export type RelayedEvent = ResponseStreamEvent | { type: 'progress' }

/**
 * Reads a Responses API event stream (the raw response body) with a spec-compliant SSE parser,
 * decoding JSON only for the events the relay needs. The SDK's own stream decodes every event, the
 * whole response snapshots included (~30 µs an event here); this keeps the SDK for the request and its
 * errors and skips that work.
 */
export async function* readResponseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<RelayedEvent> {
  const pending: EventSourceMessage[] = []
  const parser = createParser({ onEvent: (message) => pending.push(message) })
  const decoder = new TextDecoder()
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }))
    for (const message of pending) yield decode(message)
    pending.length = 0
  }
  parser.feed(`${decoder.decode()}\n\n`)
  for (const message of pending) yield decode(message)
}

function decode(message: EventSourceMessage): RelayedEvent {
  // The `event:` line names the type; without one, the JSON's own `type` does.
  if (message.event && !READ.has(message.event)) return { type: 'progress' }
  const event = JSON.parse(message.data) as ResponseStreamEvent
  return READ.has(event.type) ? event : { type: 'progress' }
}
