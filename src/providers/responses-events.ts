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

/** One shared object for every event the relay does not read. */
export const PROGRESS = Object.freeze({ type: 'progress' as const })

export type RelayedEvent = ResponseStreamEvent | typeof PROGRESS

/**
 * Decodes a Responses API event stream chunk by chunk with a spec-compliant SSE parser (an event cut
 * off by the end of the body is dropped, as the spec says), decoding JSON only for the events the relay
 * reads. Synchronous on purpose: the provider's loop over the body is the only async step per chunk,
 * not one more generator per event (measured on /stream, BENCHMARKS.md).
 */
export class ResponseEventDecoder {
  #events: RelayedEvent[] = []
  readonly #parser = createParser({ onEvent: (message) => this.#events.push(decode(message)) })
  readonly #text = new TextDecoder()

  /** The events this chunk completes, in a new array the caller owns. */
  push(chunk: Uint8Array): RelayedEvent[] {
    this.#parser.feed(this.#text.decode(chunk, { stream: true }))
    const events = this.#events
    this.#events = []
    return events
  }

  /** Nothing: an event cut off by the end of the body is dropped, as the SSE spec says. */
  end(): RelayedEvent[] {
    return []
  }
}

function decode(message: EventSourceMessage): RelayedEvent {
  // The `event:` line names the type; without one, the JSON's own `type` does.
  if (message.event && !READ.has(message.event)) return PROGRESS
  const event = JSON.parse(message.data) as ResponseStreamEvent
  return READ.has(event.type) ? event : PROGRESS
}
