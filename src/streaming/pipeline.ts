import type { AppError } from '../errors.js'
import type { StreamPart } from '../providers/provider.js'

/** What flows through a stream's stages. */
export type RelayEvent =
  | { type: 'part'; part: StreamPart }
  /** The stream failed after it began; always the last event. */
  | { type: 'failure'; error: AppError }

/** What a stage may do with the stream it sits in. */
export interface StageContext {
  /** Hands an event to the next stage. */
  emit(event: RelayEvent): void
  /** Ends the stream now: the upstream is cancelled and `error` is the last event the next stages see. */
  fail(error: AppError): void
  /** When the stream began waiting for the upstream's next part; undefined while it is not waiting for it. */
  waitingSince(): number | undefined
}

/**
 * One job in a stream's life (a deadline, a policy, a log), shaped as a TransformStream transformer.
 * Stages run synchronously, in order, inside the one async loop that reads the upstream: measured, one
 * async generator per stage would add ~1 µs per event each (BENCHMARKS.md).
 */
export interface Stage {
  /** The stream is opening (before the upstream's first part): start timers. */
  start?(context: StageContext): void
  /** One event from the stage before; pass it on with `context.emit`, hold it back or replace it. */
  transform?(event: RelayEvent, context: StageContext): void
  /** The stream is over, however it ended: stop timers. Called once. */
  close?(): void
}

/** Where the events leaving the last stage go: the wire format and the response, or a replay log. */
export interface EventSink {
  /** One event; after `end` or a failure nothing follows. */
  deliver(event: RelayEvent): void
  /** Resolves when the sink can take more; undefined when it can now (backpressure). */
  ready(): Promise<void> | undefined
  /** The stream is over; resolves once the sink has released what it holds (the response has closed). */
  end(): Promise<void> | undefined
}

/**
 * The stages of one stream, chained: each stage's `emit` calls the next one's `transform`, and the last
 * hands events to the sink. A failure from anywhere cancels the upstream through `onFailure` and ends
 * the stream with that failure as its last event. Before a sink is attached (while the stream opens), a
 * failure is kept for the opener to answer as an HTTP error instead.
 */
export class Pipeline {
  readonly #stages: Stage[]
  readonly #contexts: StageContext[]
  readonly #onFailure: (error: AppError) => void
  #sink: EventSink | undefined
  #failing = false
  #ended = false
  /** When the stream began waiting for the upstream; set by the loop that reads it. */
  waitingSince: number | undefined
  /** The failure that ended the stream before a sink was attached. */
  earlyFailure: AppError | undefined
  #resolveDone: () => void = () => {}
  /** Resolves once the stream has ended and its sink has released what it holds. */
  readonly done = new Promise<void>((resolve) => {
    this.#resolveDone = resolve
  })

  constructor(stages: Stage[], onFailure: (error: AppError) => void) {
    this.#stages = stages
    this.#onFailure = onFailure
    const waitingSince = () => this.waitingSince
    this.#contexts = stages.map((_, index) => ({
      emit: (event) => this.#emitFrom(index + 1, event),
      fail: (error) => this.#failFrom(index + 1, error),
      waitingSince,
    }))
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Starts every stage, in order. */
  start(): void {
    for (const [index, stage] of this.#stages.entries()) {
      if (this.#ended) return
      stage.start?.(this.#contexts[index] as StageContext)
    }
  }

  /** Where the events go from now on. A stream that ended before (cancelled while the reply was being set up) still gives its sink the last event and ends it. */
  attach(sink: EventSink): void {
    this.#sink = sink
    if (!this.#ended) return
    if (this.earlyFailure) sink.deliver({ type: 'failure', error: this.earlyFailure })
    void sink.end()
  }

  /** One event from the upstream, into the first stage. */
  push(event: RelayEvent): void {
    this.#emitFrom(0, event)
  }

  /** Ends the stream with this failure, seen by every stage. */
  fail(error: AppError): void {
    this.#failFrom(0, error)
  }

  #emitFrom(index: number, event: RelayEvent): void {
    if (this.#ended) return
    const stage = this.#stages[index]
    if (stage === undefined) this.#deliver(event)
    else if (stage.transform) stage.transform(event, this.#contexts[index] as StageContext)
    else this.#emitFrom(index + 1, event)
  }

  #failFrom(index: number, error: AppError): void {
    if (this.#ended || this.#failing) return
    this.#failing = true
    try {
      this.#onFailure(error)
      this.#emitFrom(index, { type: 'failure', error })
    } finally {
      // A stage that swallowed the failure, or threw on it, cannot keep the stream open.
      if (!this.#ended) this.#end()
    }
  }

  #deliver(event: RelayEvent): void {
    if (this.#sink) this.#sink.deliver(event)
    else if (event.type === 'failure') this.earlyFailure = event.error
    if (event.type === 'failure' || event.part.type === 'end') this.#end()
  }

  #end(): void {
    this.#ended = true
    for (const stage of this.#stages) stage.close?.()
    const released = this.#sink?.end()
    if (released) released.then(this.#resolveDone)
    else this.#resolveDone()
  }
}
