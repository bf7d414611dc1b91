import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { PlainCounter, PlainHistogram } from '../../../src/plugins/metrics/plain-metrics.js'

const BUCKETS = [0.01, 0.1, 1, 10]
const OBSERVED = [0.005, 0.01, 0.05, 0.5, 0.5, 3, 42]

/** The same metrics, once prom-client's and once ours, each on its own registry. */
function both() {
  const ours = new Registry()
  const theirs = new Registry()
  const options = { name: 'x_seconds', help: 'h', labelNames: ['route', 'status'] }
  return {
    ours,
    theirs,
    histograms: [
      new PlainHistogram({ ...options, buckets: BUCKETS, registers: [ours] }),
      new Histogram({ ...options, buckets: BUCKETS, registers: [theirs] }),
    ] as const,
    counters: [
      new PlainCounter({ name: 'y_total', help: 'h', labelNames: ['route'], registers: [ours] }),
      new Counter({ name: 'y_total', help: 'h', labelNames: ['route'], registers: [theirs] }),
    ] as const,
    bare: [
      new PlainCounter({ name: 'z_total', help: 'h', registers: [ours] }),
      new Counter({ name: 'z_total', help: 'h', registers: [theirs] }),
    ] as const,
  }
}

describe('plain metrics', () => {
  it("expose exactly the text prom-client's own counters and histograms expose for the same counts", async () => {
    const { ours, theirs, histograms, counters, bare } = both()
    const cell = histograms[0].labels('/chat', '200')
    for (const value of OBSERVED) {
      cell.observe(value)
      histograms[1].labels('/chat', '200').observe(value)
    }
    histograms[0].labels('/a "quoted"\nroute', '500').observe(2)
    histograms[1].labels('/a "quoted"\nroute', '500').observe(2)
    counters[0].labels('/chat').inc()
    counters[0].labels('/chat').inc(4)
    counters[1].labels('/chat').inc(5)
    bare[1].inc(0)
    expect(await ours.metrics()).toBe(await theirs.metrics())
  })

  it('a metric without labels shows its series at 0 before any count, and after a reset', async () => {
    const { ours, bare } = both()
    bare[0].inc(3)
    expect(await ours.metrics()).toContain('z_total 3')
    bare[0].reset()
    expect(await ours.metrics()).toContain('z_total 0')
  })

  it('a value above the last bound counts only in +Inf, the sum and the count', async () => {
    const histogram = new PlainHistogram({ name: 'w', help: 'h', buckets: BUCKETS, registers: [] })
    histogram.observe(100)
    const { values } = await histogram.get()
    const byLe = Object.fromEntries(values.filter((v) => 'le' in v.labels).map((v) => [v.labels.le, v.value]))
    expect(byLe).toEqual({ 0.01: 0, 0.1: 0, 1: 0, 10: 0, '+Inf': 1 })
    expect(values.find((v) => v.metricName === 'w_sum')?.value).toBe(100)
  })
})
