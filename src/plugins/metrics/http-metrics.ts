import type { FastifyInstance } from 'fastify'
import type { MetricSet } from './definitions.js'
import type { CounterCell, HistogramCell } from './plain-metrics.js'

/** The route label of requests no route took (404, 405): never the raw URL, which is the client's. */
export const UNMATCHED = 'unmatched'

interface RequestSeries {
  count: CounterCell
  duration: HistogramCell
}

/**
 * Counts and times every response by method, route template and status, in one `onResponse` hook (it
 * runs for streamed replies too, when their response finishes). Label children are cached per
 * route, method and status in nested Maps: no string is built per request and `labels(...)` runs once
 * per series.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: MetricSet) {
  const byRoute = new Map<string, Map<string, Map<number, RequestSeries>>>()

  const seriesOf = (route: string, method: string, status: number): RequestSeries => {
    const byMethod = entry(byRoute, route, () => new Map<string, Map<number, RequestSeries>>())
    const byStatus = entry(byMethod, method, () => new Map<number, RequestSeries>())
    let series = byStatus.get(status)
    if (series === undefined) {
      const labels = [method, route, String(status)]
      series = {
        count: metrics.httpRequests.labels(...labels),
        duration: metrics.httpDuration.labels(...labels),
      }
      byStatus.set(status, series)
    }
    return series
  }

  app.addHook('onResponse', function countResponse(request, reply, done) {
    // Methods are bounded by Node's parser, statuses by HTTP; routes are the app's own templates.
    const series = seriesOf(request.routeOptions.url ?? UNMATCHED, request.method, reply.statusCode)
    series.count.inc()
    series.duration.observe(reply.elapsedTime / 1000)
    done()
  })
}

function entry<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}
