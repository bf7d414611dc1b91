export interface MaintenanceTiming {
  /** Quiet time after a write before a run; 0 runs the work only when asked with `run()`. */
  delayMs: number
  /** Longest a run can be put off by steady writes, counted from the first write it waits for. */
  maxDeferralMs: number
}

/**
 * When the store's index maintenance runs: after writes pause for a quiet time, each write restarting
 * the wait, so a burst of ingestion pays for one run rather than one per commit; but never later than
 * `maxDeferralMs` after the first write waiting, or steady writes (one every few seconds) would put it
 * off for ever while every write and search slows down on uncompacted, unindexed data. Runs never
 * overlap: each starts after the one before it settles.
 */
export class MaintenanceScheduler {
  readonly #timing: MaintenanceTiming
  readonly #work: () => Promise<void>
  #timer: NodeJS.Timeout | undefined
  /** When the first write the pending run waits for happened (Date.now()); undefined: none pending. */
  #pendingSince: number | undefined
  #running: Promise<void> = Promise.resolve()

  constructor(timing: MaintenanceTiming, work: () => Promise<void>) {
    this.#timing = timing
    this.#work = work
  }

  /** After a write: (re)starts the wait before the next run, within the ceiling. */
  schedule(): void {
    const { delayMs, maxDeferralMs } = this.#timing
    if (delayMs === 0) return
    const now = Date.now()
    this.#pendingSince ??= now
    const wait = Math.max(0, Math.min(delayMs, this.#pendingSince + maxDeferralMs - now))
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#pendingSince = undefined
      // Nobody awaits a scheduled run: the next run() rejects with its failure instead.
      this.run().catch(() => {})
    }, wait)
    // A pending run must not keep a finished process (a CLI, a test) alive.
    this.#timer.unref()
  }

  /** Runs the work once the run in progress, if any, has settled. */
  run(): Promise<void> {
    this.#running = this.#running.then(() => this.#work())
    return this.#running
  }

  /** Drops a pending run and waits for the one in progress, whatever its outcome. */
  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#pendingSince = undefined
    await this.#running.catch(() => {})
  }
}
