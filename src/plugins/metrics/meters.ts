import type { DocumentOperation, DocumentsMeter } from '../../rag/documents.js'
import type { StreamMeter } from '../../streaming/stream-metrics.js'
import type { MetricSet } from './definitions.js'
import type { CounterCell, HistogramCell } from './plain-metrics.js'

/** The streams' reports (streaming/stream-metrics.ts), as prom-client metrics. */
export function streamMeter(metrics: MetricSet): StreamMeter {
  // Our error codes are a fixed set: one child each, made on first use.
  const failed = new Map<string, CounterCell>()
  return {
    opened: () => metrics.streamsActive.inc(),
    firstText: (seconds) => metrics.streamFirstText.observe(seconds),
    closed(seconds) {
      metrics.streamsActive.dec()
      metrics.streamDuration.observe(seconds)
    },
    abortedByClient: () => metrics.streamsAborted.inc(),
    failed(error) {
      let counter = failed.get(error.code)
      if (counter === undefined) {
        counter = metrics.streamsFailed.labels(error.code)
        failed.set(error.code, counter)
      }
      counter.inc()
    },
  }
}

interface OperationSeries {
  count: CounterCell
  duration: HistogramCell
}

/** The document library's reports (rag/documents.ts), as prom-client metrics. */
export function documentsMeter(metrics: MetricSet): DocumentsMeter {
  const series = new Map<string, OperationSeries>()
  return {
    observe(operation: DocumentOperation, outcome: 'ok' | 'error', seconds: number) {
      // A handful of operations and two outcomes; these calls are far off the per-token path.
      const key = `${operation}:${outcome}`
      let children = series.get(key)
      if (children === undefined) {
        children = {
          count: metrics.documentOperations.labels(operation, outcome),
          duration: metrics.documentDuration.labels(operation, outcome),
        }
        series.set(key, children)
      }
      children.count.inc()
      children.duration.observe(seconds)
    },
  }
}
