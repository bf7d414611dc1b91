import type { CancelSignal } from '../../src/cancellation.js'
import type { CallOptions, ChatProvider, GenerateRequest, StreamPart } from '../../src/providers/provider.js'
import type { EventSink, RelayEvent } from '../../src/streaming/pipeline.js'

/** In-memory doubles of our own streaming interfaces (a provider, a sink), for the stream unit tests. */

export const request: GenerateRequest = { messages: [{ role: 'user', content: 'hi' }], model: 'test-model' }

export const start = (model = 'test-model'): StreamPart => ({ type: 'start', model })
export const delta = (text: string): StreamPart => ({ type: 'text-delta', text })
export const end = (finishReason = 'stop'): StreamPart => ({ type: 'end', finishReason })

/**
 * One step of a scripted upstream answer: a part to yield, a failure to throw, something to wait for, or
 * a wait until the call is cancelled that then throws (as an HTTP client does when its request is aborted).
 */
export type Step =
  | StreamPart
  | { throws: unknown }
  | { waits: () => Promise<unknown> }
  | { abortsWith: unknown }

/** A wait that never ends by itself: the upstream has gone quiet. */
export const stall: Step = { waits: () => new Promise(() => {}) }

/** A wait of `milliseconds` on `setTimeout` (fake or real, whichever the test runs with). */
export const pause = (milliseconds: number): Step => ({
  waits: () => new Promise((resolve) => setTimeout(resolve, milliseconds)),
})

/** A promise with its resolve function, for the test to settle when it chooses. */
export function deferred<T = void>() {
  let resolve: (value: T) => void = () => {}
  const promise = new Promise<T>((settle) => {
    resolve = settle
  })
  return { promise, resolve }
}

function cancelled(signal: CancelSignal): { promise: Promise<void>; stop: () => void } {
  let stop = () => {}
  const promise = new Promise<void>((resolve) => {
    stop = signal.onCancel(() => resolve())
  })
  return { promise, stop }
}

/**
 * A provider whose every `stream()` call (one per attempt) plays the next script. Like a real adapter it
 * honours `options.signal`: once it is cancelled the answer ends silently at its next step or wait.
 */
export class InMemoryProvider implements ChatProvider {
  /** The call options of each attempt, in order. */
  readonly calls: CallOptions[] = []
  /** Parts handed to readers so far, over every attempt. */
  pulled = 0
  /** Attempts whose generator has finished (its finally block ran: a real adapter releases its body there). */
  finished = 0
  readonly #scripts: Step[][]

  constructor(...scripts: Step[][]) {
    this.#scripts = scripts
  }

  async generate(): Promise<never> {
    throw new Error('InMemoryProvider only streams')
  }

  stream(_request: GenerateRequest, options: CallOptions): AsyncIterable<StreamPart> {
    const script = this.#scripts[this.calls.length] ?? []
    this.calls.push(options)
    return this.#play(script, options.signal)
  }

  async *#play(script: Step[], signal: CancelSignal): AsyncGenerator<StreamPart> {
    try {
      for (const step of script) {
        if (signal.aborted) return
        if ('type' in step) {
          this.pulled++
          yield step
        } else if ('throws' in step) {
          throw step.throws
        } else if ('abortsWith' in step) {
          await cancelled(signal).promise
          throw step.abortsWith
        } else {
          const cancellation = cancelled(signal)
          await Promise.race([step.waits(), cancellation.promise])
          cancellation.stop()
        }
      }
    } finally {
      this.finished++
    }
  }
}

/** A sink that records what reaches it; `ready` and `end` answer as the test says (at once by default). */
export class RecordingSink implements EventSink {
  readonly events: RelayEvent[] = []
  readyCalls = 0
  endCalls = 0
  readonly #ready: () => Promise<void> | undefined
  readonly #end: () => Promise<void> | undefined

  constructor(
    options: { ready?: () => Promise<void> | undefined; end?: () => Promise<void> | undefined } = {},
  ) {
    this.#ready = options.ready ?? (() => undefined)
    this.#end = options.end ?? (() => undefined)
  }

  /** The parts delivered, in order. */
  get parts(): StreamPart[] {
    return this.events.flatMap((event) => (event.type === 'part' ? [event.part] : []))
  }

  deliver(event: RelayEvent): void {
    this.events.push(event)
  }

  ready(): Promise<void> | undefined {
    this.readyCalls++
    return this.#ready()
  }

  end(): Promise<void> | undefined {
    this.endCalls++
    return this.#end()
  }
}

/**
 * Lets every callback already queued run (promise jobs, then one turn of the event loop), without
 * waiting for any time to pass: the in-memory doubles answer within it, so whatever has not happened by
 * then is being held back, not late.
 */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve))
