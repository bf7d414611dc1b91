/**
 * The tokens each API key used, per budget period (periods are numbered from the Unix epoch, so every
 * instance numbers them alike): in memory here, in Redis in redis-budget-counters.ts.
 */
export interface BudgetCounters {
  /** Tokens `key` used in `period` so far. */
  used(key: string, period: number): Promise<number>
  /** Adds `tokens` to what `key` used in `period`; a failure is the counters' to report. */
  charge(key: string, period: number, tokens: number): void
}

/**
 * One count per key, for its current period only (an earlier one is forgotten when a later one is
 * charged): memory grows with the configured keys, never with time.
 */
export class MemoryBudgetCounters implements BudgetCounters {
  readonly #counts = new Map<string, { period: number; used: number }>()

  used(key: string, period: number): Promise<number> {
    const count = this.#counts.get(key)
    return Promise.resolve(count !== undefined && count.period === period ? count.used : 0)
  }

  charge(key: string, period: number, tokens: number): void {
    const count = this.#counts.get(key)
    if (count !== undefined && count.period === period) count.used += tokens
    else this.#counts.set(key, { period, used: tokens })
  }
}
