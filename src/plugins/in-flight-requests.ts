import type { Cancellation } from '../cancellation.js'
import type { AppError } from '../errors.js'

/**
 * The cancellations of the requests being answered (plugins/request-context.ts adds each request's and
 * removes it when its response closes): shutdown waits until there are none, then cancels the rest. A
 * Set rather than a parent Cancellation every request follows: an emitter with thousands of listeners
 * costs a linear scan per removal.
 */
export class InFlightRequests {
  readonly #cancellations = new Set<Cancellation>()
  #onIdle: (() => void) | undefined
  #idle: Promise<void> | undefined

  /** How many requests are being answered. */
  get size(): number {
    return this.#cancellations.size
  }

  /** Tracks a request from its start. */
  add(cancellation: Cancellation): void {
    this.#cancellations.add(cancellation)
  }

  /** Forgets a request once its response has closed. */
  delete(cancellation: Cancellation): void {
    this.#cancellations.delete(cancellation)
    if (this.#cancellations.size > 0) return
    this.#onIdle?.()
    this.#onIdle = undefined
    this.#idle = undefined
  }

  /** Resolves once no request is being answered. */
  idle(): Promise<void> {
    if (this.#cancellations.size === 0) return Promise.resolve()
    this.#idle ??= new Promise<void>((resolve) => {
      this.#onIdle = resolve
    })
    return this.#idle
  }

  /** Cancels every request being answered with `reason`: their upstream calls and waits reject with it. */
  cancelAll(reason: AppError): void {
    for (const cancellation of [...this.#cancellations]) cancellation.cancel(reason)
  }
}
