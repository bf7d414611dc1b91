/** The label value that stands for every value past the limit. */
export const OTHER = 'other'

/**
 * The series of one label whose values come from outside (a model name a client chose), bounded: the
 * first `limit` distinct values get their own, every later one shares OTHER's. Also the cache of each
 * value's label children, so `labels(...)` (which validates and copies its arguments) runs once per
 * value, not per call (BENCHMARKS.md, "Metrics").
 */
export class BoundedSeries<T> {
  readonly #byValue = new Map<string, T>()
  readonly #limit: number
  readonly #create: (value: string) => T
  #other: T | undefined

  constructor(limit: number, create: (value: string) => T) {
    this.#limit = limit
    this.#create = create
  }

  /** The series of `value`: its own while there is room, else OTHER's. */
  get(value: string): T {
    const known = this.#byValue.get(value)
    if (known !== undefined) return known
    if (this.#byValue.size >= this.#limit) {
      this.#other ??= this.#create(OTHER)
      return this.#other
    }
    const created = this.#create(value)
    this.#byValue.set(value, created)
    return created
  }
}
