import type { DocumentOperation, DocumentsMeter } from '../../rag/documents.js'
import type { ModerationMeter } from '../../streaming/content-policy.js'
import type { StreamMeter } from '../../streaming/stream-metrics.js'
import { BoundedSeries } from './bounded-series.js'
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

/** Rule ids: the configured rules and OpenAI's categories, bounded all the same (README "Moderation"). */
const MODERATION_RULE_LABELS = 200

/** The content policy's refusals (input-moderation.ts, output-policy.ts), as prom-client metrics. */
export function moderationMeter(metrics: MetricSet): ModerationMeter {
  const series = {
    input: new BoundedSeries(MODERATION_RULE_LABELS, (rule) =>
      metrics.moderationBlocked.labels(rule, 'input'),
    ),
    output: new BoundedSeries(MODERATION_RULE_LABELS, (rule) =>
      metrics.moderationBlocked.labels(rule, 'output'),
    ),
  }
  return {
    blocked: (rule, direction) => series[direction].get(rule).inc(),
  }
}
