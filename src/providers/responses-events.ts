import type { ResponseStreamEvent } from 'openai/resources/responses/responses'
import { SseDecoder } from './sse-decoder.js'

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
 * Decodes a Responses API event stream chunk by chunk (SseDecoder: an event cut off by the end of the
 * body is dropped, one longer than `maxEventBytes` throws), decoding JSON only for the events the relay
 * reads. Synchronous on purpose: the provider's loop over the body is the only async step per chunk,
 * not one more generator per event (measured on /stream, BENCHMARKS.md).
 */
export class ResponseEventDecoder extends SseDecoder<RelayedEvent> {
  constructor(maxEventBytes: number) {
    super(maxEventBytes, decode)
  }
}

function decode(type: string | undefined, data: string): RelayedEvent {
  // The `event:` line names the type; without one, the JSON's own `type` does.
  if (type && !READ.has(type)) return PROGRESS
  const event = JSON.parse(data) as ResponseStreamEvent
  return READ.has(event.type) ? event : PROGRESS
}
