import { Cancellation, type CancelSignal } from '../cancellation.js'

/** One call in flight, shared by everyone waiting for it. */
interface Flight<T> {
  readonly result: Promise<T>
  /** Cancels the shared call: fired when its last waiter leaves. */
  readonly cancellation: Cancellation
  waiters: number
}

/**
 * Identical work in flight at the same time runs once: the first caller for a key starts it, later ones
 * wait for the same result, and all get its value or its error. A settled flight is forgotten at once,
 * so the next caller after a failure tries again (nothing is cached here). A waiter that leaves (its
 * signal fires) stops waiting without disturbing the others; when the last one leaves, the shared work
 * is cancelled through its own signal.
 */
export class Coalescer<T> {
  readonly #flights = new Map<string, Flight<T>>()

  /** How many distinct calls are in flight. */
  get size(): number {
    return this.#flights.size
  }

  /** How many callers wait, over every call in flight. */
  get waiters(): number {
    let waiters = 0
    for (const flight of this.#flights.values()) waiters += flight.waiters
    return waiters
  }

  /** The result of `work` for `key`, run now or joined while in flight; rejects with `signal`'s reason if it fires first. */
  run(key: string, signal: CancelSignal, work: (signal: CancelSignal) => Promise<T>): Promise<T> {
    if (signal.reason) return Promise.reject(signal.reason)
    const flight = this.#flights.get(key) ?? this.#start(key, work)
    return this.#wait(key, flight, signal)
  }

  #start(key: string, work: (signal: CancelSignal) => Promise<T>): Flight<T> {
    const cancellation = new Cancellation()
    const flight: Flight<T> = {
      result: Promise.resolve().then(() => work(cancellation.signal)),
      cancellation,
      waiters: 0,
    }
    this.#flights.set(key, flight)
    const forget = () => this.#forget(key, flight)
    flight.result.then(forget, forget)
    return flight
  }

  #wait(key: string, flight: Flight<T>, signal: CancelSignal): Promise<T> {
    flight.waiters++
    return new Promise<T>((resolve, reject) => {
      const stopListening = signal.onCancel((reason) => {
        reject(reason)
        flight.waiters--
        if (flight.waiters > 0) return
        // Nobody waits any more: a later identical request starts afresh instead of joining a cancelled call.
        this.#forget(key, flight)
        flight.cancellation.cancel(reason)
      })
      flight.result.then(
        (value) => {
          stopListening()
          resolve(value)
        },
        (error: unknown) => {
          stopListening()
          reject(error)
        },
      )
    })
  }

  #forget(key: string, flight: Flight<T>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key)
  }
}
