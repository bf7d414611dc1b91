import { InternalServerError } from '../errors.js'
import type { RelayEvent, Stage } from './pipeline.js'
import { isTerminal, type ReplayLog } from './replay-log.js'

/**
 * Writes a resumable stream's events to its replay log, changing nothing: the parts a client sees (the
 * start, text, the end) and the failure that ends it; progress parts and empty deltas, which no wire
 * format frames, are not kept. Composed last (streams.ts), after metrics: the log holds exactly what
 * leaves the stages, which is what every follower is then written. One array push per event (memory).
 */
export function replayStage(log: ReplayLog, streamId: string): Stage {
  let ended = false
  return {
    transform(event, context) {
      if (framed(event)) {
        ended ||= isTerminal(event)
        log.append(streamId, event)
      }
      context.emit(event)
    },
    close() {
      // The pipeline ends every stream with a terminal event; should a stage have swallowed it, followers
      // still get one instead of waiting for ever.
      if (!ended) log.append(streamId, { type: 'failure', error: new InternalServerError() })
    },
  }
}

/** Whether a wire format frames the event (SSE frames these; see sse.ts). */
function framed(event: RelayEvent): boolean {
  if (event.type === 'failure') return true
  const { part } = event
  return part.type === 'text-delta' ? part.text !== '' : part.type !== 'progress'
}
