import { type AppError, ClientClosedRequestError } from '../errors.js'
import type { Stage } from './pipeline.js'

/**
 * Where a stream reports its life: the metrics plugin implements it with prom-client, so streaming
 * stays free of any metrics library (and tests can count calls).
 */
export interface StreamMeter {
  /** A stream began opening (before the upstream's first part). */
  opened(): void
  /** Its first text reached the end of the stages, `seconds` after it began opening. */
  firstText(seconds: number): void
  /** It ended, however it ended, `seconds` after it began opening. Called once per `opened`. */
  closed(seconds: number): void
  /** The client went away before the end. */
  abortedByClient(): void
  /** It ended with this failure (before or after its first part), the client's leaving aside. */
  failed(error: AppError): void
}

/**
 * A stage that watches and reports, changing nothing: the time to the first text, the stream's life, how
 * it ended. Composed last (streams.ts) so it sees the failures every stage before it raises, and the text
 * as the client gets it. No per-event cost beyond one comparison until the first text.
 */
export function streamMetrics(meter: StreamMeter): Stage {
  let startedAt: number | undefined
  let textSeen = false
  return {
    start() {
      startedAt = performance.now()
      meter.opened()
    },
    transform(event, context) {
      if (event.type === 'failure') {
        if (event.error instanceof ClientClosedRequestError) meter.abortedByClient()
        else meter.failed(event.error)
      } else if (!textSeen && event.part.type === 'text-delta' && startedAt !== undefined) {
        textSeen = true
        meter.firstText((performance.now() - startedAt) / 1000)
      }
      context.emit(event)
    },
    close() {
      // A stream ended by a stage before this one started was never counted as opened.
      if (startedAt === undefined) return
      meter.closed((performance.now() - startedAt) / 1000)
    },
  }
}
