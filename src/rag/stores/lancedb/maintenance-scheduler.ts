/**
 * When the store's index maintenance runs: after writes pause for a quiet time, each write restarting
 * the wait, so a burst of ingestion pays for one run rather than one per commit. Runs never overlap:
 * each starts after the one before it settles.
 */
export class MaintenanceScheduler {
  readonly #delayMs: number
  readonly #work: () => Promise<void>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> = Promise.resolve()

  /** `delayMs` of quiet before a scheduled run; 0 runs the work only when asked with `run()`. */
  constructor(delayMs: number, work: () => Promise<void>) {
    this.#delayMs = delayMs
    this.#work = work
  }

  /** After a write: (re)starts the wait before the next run. */
  schedule(): void {
    if (this.#delayMs === 0) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      // Nobody awaits a scheduled run: the next run() rejects with its failure instead.
      this.run().catch(() => {})
    }, this.#delayMs)
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
    await this.#running.catch(() => {})
  }
}
