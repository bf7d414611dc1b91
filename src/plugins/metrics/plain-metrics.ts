import type { Metric, Registry } from 'prom-client'

/**
 * Counters and histograms that count into plain numbers: the one place the metrics trade clarity for
 * speed. prom-client's `inc`/`observe`, even on a cached label child, validates and hashes the labels on
 * every call (~0.5-1 µs each, and a `/chat` makes five of them: ~7 µs of a request's CPU in a V8 profile of
 * the built server under wrk, BENCHMARKS.md "Metrics"). Here a label set's cell is looked up once (callers
 * keep it) and a count is one addition. prom-client still owns the registry and the exposition format: it
 * reads these metrics through the same `get()` its own metrics answer when /metrics is scraped.
 */

interface PlainMetricOptions {
  name: string
  help: string
  labelNames?: readonly string[]
  registers: Registry[]
}

/** One label set of a counter. */
export class CounterCell {
  value = 0

  inc(amount = 1): void {
    this.value += amount
  }
}

/** One label set of a histogram: a count per bucket (not cumulative), the sum and the count. */
export class HistogramCell {
  readonly #upperBounds: readonly number[]
  readonly bucketCounts: number[]
  sum = 0
  count = 0

  constructor(upperBounds: readonly number[]) {
    this.#upperBounds = upperBounds
    this.bucketCounts = upperBounds.map(() => 0)
  }

  observe(value: number): void {
    this.sum += value
    this.count += 1
    const bounds = this.#upperBounds
    for (let index = 0; index < bounds.length; index++) {
      if (value <= (bounds[index] as number)) {
        this.bucketCounts[index] = (this.bucketCounts[index] as number) + 1
        return
      }
    }
    // Above the last bound: only the +Inf bucket (the count) holds it.
  }
}

type LabelValues = Record<string, string>

abstract class PlainMetric<Cell> {
  readonly name: string
  readonly help: string
  readonly aggregator = 'sum'
  readonly #labelNames: readonly string[]
  readonly #cells = new Map<string, { labels: LabelValues; cell: Cell }>()

  constructor(options: PlainMetricOptions) {
    this.name = options.name
    this.help = options.help
    this.#labelNames = options.labelNames ?? []
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric)
  }

  /** The cell of one label set, in `labelNames` order; keep it: this lookup is the costly part. */
  labels(...values: string[]): Cell {
    const key = values.join('\u0000')
    let entry = this.#cells.get(key)
    if (entry === undefined) {
      const labels: LabelValues = {}
      this.#labelNames.forEach((name, index) => {
        labels[name] = values[index] ?? ''
      })
      entry = { labels, cell: this.createCell() }
      this.#cells.set(key, entry)
    }
    return entry.cell
  }

  reset(): void {
    this.#cells.clear()
    this.seriesFromTheStart()
  }

  /** A metric without labels has its one series from the start, at 0, as prom-client's do. */
  protected seriesFromTheStart(): void {
    if (this.#labelNames.length === 0) this.labels()
  }

  protected entries(): Iterable<{ labels: LabelValues; cell: Cell }> {
    return this.#cells.values()
  }

  protected abstract createCell(): Cell
}

export class PlainCounter extends PlainMetric<CounterCell> {
  readonly type = 'counter'

  constructor(options: PlainMetricOptions) {
    super(options)
    this.seriesFromTheStart()
  }

  /** For a counter without labels. */
  inc(amount = 1): void {
    this.labels().inc(amount)
  }

  protected createCell(): CounterCell {
    return new CounterCell()
  }

  /** What prom-client's registry formats (the shape its own metrics' `get()` returns). */
  async get() {
    const values = [...this.entries()].map(({ labels, cell }) => ({ labels, value: cell.value }))
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

export class PlainHistogram extends PlainMetric<HistogramCell> {
  readonly type = 'histogram'
  readonly #upperBounds: readonly number[]

  constructor(options: PlainMetricOptions & { buckets: readonly number[] }) {
    super(options)
    this.#upperBounds = [...options.buckets].sort((a, b) => a - b)
    this.seriesFromTheStart()
  }

  /** For a histogram without labels. */
  observe(value: number): void {
    this.labels().observe(value)
  }

  protected createCell(): HistogramCell {
    return new HistogramCell(this.#upperBounds)
  }

  /** Cumulative buckets, `_sum` and `_count` per label set, as Prometheus' text format has them. */
  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = []
    for (const { labels, cell } of this.entries()) {
      let cumulative = 0
      this.#upperBounds.forEach((bound, index) => {
        cumulative += cell.bucketCounts[index] as number
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, ...labels },
          value: cumulative,
        })
      })
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: cell.count })
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum })
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
