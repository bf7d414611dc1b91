import { EventEmitter } from 'node:events'
import type { AppError } from './errors.js'

const CANCEL = Symbol('cancel')

/**
 * The request path's cancellation signal. It is an EventEmitter that emits `abort`, the form undici's
 * `request({ signal })` accepts beside AbortSignal, and deliberately not an AbortSignal: the compiler
 * refuses it where an AbortSignal is expected (WHATWG `fetch`, which would throw at run time). Node 20's
 * AbortSignal costs ~3.6 µs to create and ~2 µs per listener; every request makes one of these and a
 * stream makes three (BENCHMARKS.md).
 *
 * Its reason is always one of our typed errors, so whoever sees a cancellation knows what to answer.
 */
export class CancelSignal extends EventEmitter {
  #reason: AppError | undefined

  /** True once cancelled. */
  get aborted(): boolean {
    return this.#reason !== undefined
  }

  /** Why it was cancelled; undefined until it is. */
  get reason(): AppError | undefined {
    return this.#reason
  }

  /** Calls `listener` once on cancellation (at once when already cancelled); returns its removal. */
  onCancel(listener: (reason: AppError) => void): () => void {
    if (this.#reason !== undefined) {
      listener(this.#reason)
      return () => {}
    }
    const onAbort = () => listener(this.#reason as AppError)
    this.once('abort', onAbort)
    return () => this.off('abort', onAbort)
  }

  /** Only a Cancellation can cancel its signal: the key is private to this module. */
  [CANCEL](reason: AppError): void {
    if (this.#reason !== undefined) return
    this.#reason = reason
    this.emit('abort')
  }
}

/** Owns a CancelSignal; optionally follows a parent (cancelled with the parent's reason when it is). */
export class Cancellation {
  readonly signal = new CancelSignal()
  readonly #unlink: () => void

  constructor(parent?: CancelSignal) {
    this.#unlink = parent ? parent.onCancel((reason) => this.cancel(reason)) : () => {}
  }

  /** Cancels once; later calls keep the first reason. */
  cancel(reason: AppError): void {
    this.#unlink()
    this.signal[CANCEL](reason)
  }

  /** Stops following the parent (the work is over and must not outlive it in the parent's listeners). */
  release(): void {
    this.#unlink()
  }
}

/** Waits `milliseconds`; rejects with the signal's reason as soon as it is cancelled. */
export function sleep(milliseconds: number, signal: CancelSignal): Promise<void> {
  if (signal.reason) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const stopListening = signal.onCancel((reason) => {
      clearTimeout(timer)
      reject(reason)
    })
    const timer = setTimeout(() => {
      stopListening()
      resolve()
    }, milliseconds)
  })
}
