import { Cancellation, type CancelSignal } from '../cancellation.js'
import { AppError, InternalServerError, UpstreamUnavailableError } from '../errors.js'
import type { StreamPart } from '../providers/provider.js'
import { type EventSink, Pipeline, type Stage } from './pipeline.js'
import type { ResumableStream } from './resumable-stream.js'
import type { SourceOpener, StartedSource } from './source.js'

export interface StreamSessionOptions {
  /** Starts the upstream (with its retries) and resolves at its first part. */
  open: SourceOpener
  /** The stages every event passes through, in order, before the sink. */
  stages: Stage[]
  /** Cancelled when the client goes away: the stream ends and its upstream is aborted. */
  clientSignal: CancelSignal
  /** Set when the stream is resumable: its id, its log, and the policy that ends it instead. */
  resumable?: ResumableStream
}

/**
 * One streamed answer, from its first upstream attempt to its last event: opens the source, then reads
 * it in the stream's one async loop, pushing each part through the stages to the sink and waiting
 * whenever the sink is full (backpressure reaches the upstream read). Whatever ends the stream (its end
 * part, a failure, a stage, the client leaving, `cancel`), the upstream request does not outlive it.
 */
export class StreamSession {
  readonly #options: StreamSessionOptions
  /** The upstream's: cancelled when the stream ends before its last part. */
  readonly #cancellation = new Cancellation()
  readonly #pipeline: Pipeline
  readonly #stopFollowingClient: () => void
  #source: StartedSource | undefined

  constructor(options: StreamSessionOptions) {
    this.#options = options
    this.#pipeline = new Pipeline(options.stages, (error) => this.#cancellation.cancel(error))
    this.#stopFollowingClient = options.clientSignal.onCancel((reason) => this.cancel(reason))
    void this.#pipeline.done.then(this.#stopFollowingClient)
  }

  /** The stream's resumption, when it is resumable (README "Resumable streams"). */
  get resumable(): ResumableStream | undefined {
    return this.#options.resumable
  }

  /** Whether the stream is over (nothing more reaches its sink). */
  get ended(): boolean {
    return this.#pipeline.ended
  }

  /** Resolves once the stream is over and its sink has released the response. */
  get closed(): Promise<void> {
    return this.#pipeline.done
  }

  /**
   * Starts the stages and the upstream; resolves at the upstream's first part. Rejects with the AppError
   * to answer as an ordinary HTTP error when the stream cannot start (nothing has been sent yet).
   */
  async open(): Promise<void> {
    try {
      this.#pipeline.start()
      this.#source = await this.#options.open(this.#cancellation.signal)
    } catch (error) {
      const failure = this.#pipeline.earlyFailure ?? this.#cancellation.signal.reason ?? error
      this.#pipeline.fail(
        failure instanceof AppError ? failure : new UpstreamUnavailableError({ cause: error }),
      )
      throw failure
    }
    if (this.#pipeline.ended) {
      this.#source.release()
      throw this.#pipeline.earlyFailure ?? this.#cancellation.signal.reason
    }
  }

  /** Ends the stream from outside (client gone, server shutting down); `reason` is its last event. */
  cancel(reason: AppError): void {
    this.#pipeline.fail(reason)
  }

  /**
   * Relays the opened stream into `sink` until it ends. Rejects only on a bug in a stage (the caller logs
   * it); upstream failures end the stream with a failure event instead.
   */
  async run(sink: EventSink): Promise<void> {
    const source = this.#source
    if (!source) throw new Error('run() before a successful open()')
    const pipeline = this.#pipeline
    pipeline.attach(sink)
    let completed = false
    try {
      let part: StreamPart = source.first
      while (true) {
        pipeline.push({ type: 'part', part })
        if (part.type === 'end') {
          completed = true
          return
        }
        const room = pipeline.ended ? undefined : sink.ready()
        if (room) await room
        if (pipeline.ended) return
        const next = await this.#next(source)
        if (pipeline.ended) return
        if (next instanceof AppError) return pipeline.fail(next)
        part = next
      }
    } catch (error) {
      pipeline.fail(new InternalServerError({ cause: error }))
      throw error
    } finally {
      // After the upstream's last part, finishing its generator drains the body so the connection is reused.
      if (completed) source.rest.return?.().catch(() => {})
      source.release()
    }
  }

  /** The upstream's next part, or the typed failure that stands for how it ended instead. */
  async #next(source: StartedSource): Promise<StreamPart | AppError> {
    this.#pipeline.waitingSince = performance.now()
    try {
      const result = await source.rest.next()
      if (!result.done) return result.value
      return new UpstreamUnavailableError({ logDetail: 'upstream stream ended early' })
    } catch (error) {
      return error instanceof AppError
        ? error
        : new UpstreamUnavailableError({ cause: error, logDetail: String(error) })
    } finally {
      this.#pipeline.waitingSince = undefined
    }
  }
}
