import type { ServerResponse } from 'node:http'
import { Cancellation } from '../cancellation.js'
import {
  AppError,
  ClientClosedRequestError,
  ServerShuttingDownError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import {
  type ChatProvider,
  type GenerateRequest,
  type StreamPart,
  timed,
  type UpstreamTiming,
} from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'

export interface StreamLimits {
  /** Longest wait for the upstream's first event, per attempt. */
  firstEventMs: number
  /** Longest wait for each following event. */
  idleMs: number
  /** Longest life of the whole stream, retries included. */
  totalMs: number
  /** A heartbeat is due after this long without data. */
  heartbeatMs: number
}

/** What a session yields to a wire format. */
export type RelayEvent =
  | { type: 'part'; part: StreamPart }
  /** Nothing has flowed for a heartbeat interval: keep proxies and clients from timing out. */
  | { type: 'heartbeat' }
  /** The stream failed after it started; always the last event. */
  | { type: 'failure'; error: AppError }

export interface StreamSessionOptions {
  provider: ChatProvider
  request: GenerateRequest
  requestId: string
  /** Fires when the client goes away. */
  clientSignal: AbortSignal
  limits: StreamLimits
  retry: RetryPolicy
  /** Where open sessions are kept, so shutdown can end them and tests can count them. */
  registry: Set<StreamSession>
  /** Receives the time spent waiting for the upstream's first event. */
  timing?: UpstreamTiming
}

const WAKE = Symbol('wake')

/**
 * One streamed answer, from the first upstream attempt to the last frame. It retries only until the
 * first part arrives; enforces the first-event, idle and total timeouts with one lazily re-armed timer;
 * aborts the upstream as soon as the client leaves, a timeout fires or the server shuts down; and
 * announces heartbeats. Every path ends `events()` and removes the session from its registry.
 */
export class StreamSession {
  readonly #options: StreamSessionOptions
  /** Aborts the whole session: client gone, total timeout, shutdown. Its reason says which. */
  readonly #session = new Cancellation()
  /** Aborts the current upstream attempt (first-event or idle timeout, or the session's end). */
  #attempt = new Cancellation()
  #iterator: AsyncIterator<StreamPart> | undefined
  #first: StreamPart | undefined
  readonly #startedAt = performance.now()
  /** When the current wait for the upstream began; undefined while no wait is under way. */
  #waitingSince: number | undefined
  #lastDataAt = performance.now()
  #heartbeatDue = false
  #timer: NodeJS.Timeout | undefined
  /** Set by a timer or `#end` so the relay loop looks at the session; cleared when it has. */
  #woken = false
  /** Settles the relay loop's current wait early; undefined while it is not waiting. */
  #settleWait: ((value: typeof WAKE) => void) | undefined
  /** The upstream sent its last part: closing then needs no abort. */
  #completed = false
  readonly #onClientGone = () => this.#end(new ClientClosedRequestError())
  #response: ServerResponse | undefined
  #resolveClosed: () => void = () => {}
  /** Resolves once the session is over and the response carrying it (if any) has closed. */
  readonly closed: Promise<void> = new Promise((resolve) => {
    this.#resolveClosed = resolve
  })

  constructor(options: StreamSessionOptions) {
    this.#options = options
    options.registry.add(this)
    if (options.clientSignal.aborted) this.#onClientGone()
    else options.clientSignal.addEventListener('abort', this.#onClientGone, { once: true })
  }

  /**
   * Resolves once the upstream's first part has arrived, retrying retryable failures before it. Rejects
   * with an AppError when it cannot start, so the route answers an ordinary HTTP error.
   */
  async open(): Promise<void> {
    try {
      this.#arm()
      await this.#options.retry(() => this.#startAttempt(), this.#session.signal)
    } catch (error) {
      this.#close()
      throw this.#session.signal.reason instanceof AppError ? this.#session.signal.reason : error
    }
  }

  /** Ties the session's life to the response that carries it: it stays registered until that closes. */
  bindResponse(response: ServerResponse): void {
    this.#response = response
    response.once('close', () => this.#forget())
  }

  /** Ends the session from outside (server shutdown); `events()` then yields its last frame. */
  shutdown(): void {
    this.#end(new ServerShuttingDownError())
  }

  async *events(): AsyncGenerator<RelayEvent> {
    try {
      const first = this.#first
      const iterator = this.#iterator
      if (!first || !iterator) throw new Error('events() before a successful open()')
      yield this.#data(first)
      if (first.type === 'end') return
      let pending = this.#next(iterator)
      while (true) {
        const outcome = await this.#waitFor(pending)
        this.#settleWait = undefined
        const failure = this.#failure()
        if (failure) {
          if (!(failure instanceof ClientClosedRequestError)) yield { type: 'failure', error: failure }
          return
        }
        if (outcome === WAKE) {
          this.#woken = false
          if (this.#heartbeatDue) {
            this.#heartbeatDue = false
            yield { type: 'heartbeat' }
          }
          continue
        }
        this.#waitingSince = undefined
        if (outcome.done) {
          yield {
            type: 'failure',
            error: new UpstreamUnavailableError({ logDetail: 'upstream stream ended early' }),
          }
          return
        }
        yield this.#data(outcome.value)
        if (outcome.value.type === 'end') return
        pending = this.#next(iterator)
      }
    } catch (error) {
      const failure = this.#failure() ?? toAppError(error)
      if (!(failure instanceof ClientClosedRequestError)) yield { type: 'failure', error: failure }
    } finally {
      this.#close()
    }
  }

  async #startAttempt(): Promise<void> {
    this.#attempt = new Cancellation()
    const { provider, request, requestId, timing } = this.#options
    const call = { signal: this.#attempt.signal, requestId, timing }
    const iterator = provider.stream(request, call)[Symbol.asyncIterator]()
    const signal = this.#attempt.signal
    let result: IteratorResult<StreamPart>
    try {
      // Until the first part, the time is the upstream's: it is what the Server-Timing header reports.
      result = await timed(call, () => this.#next(iterator))
    } catch (error) {
      throw signal.reason instanceof AppError ? signal.reason : error
    } finally {
      this.#waitingSince = undefined
    }
    if (signal.aborted) throw signal.reason
    if (result.done)
      throw new UpstreamUnavailableError({ logDetail: 'upstream stream ended before its first event' })
    this.#first = result.value
    this.#iterator = iterator
  }

  #next(iterator: AsyncIterator<StreamPart>): Promise<IteratorResult<StreamPart>> {
    this.#waitingSince = performance.now()
    return iterator.next()
  }

  #data(part: StreamPart): RelayEvent {
    if (part.type === 'end') this.#completed = true
    if (part.type !== 'progress') this.#lastDataAt = performance.now()
    return { type: 'part', part }
  }

  #failure(): AppError | undefined {
    const reason = this.#session.signal.aborted ? this.#session.signal.reason : this.#attempt.signal.reason
    return reason instanceof AppError ? reason : undefined
  }

  /** One timer for every limit: re-armed for the nearest deadline when it fires, never per event. */
  #arm() {
    const { firstEventMs, idleMs, totalMs, heartbeatMs } = this.#options.limits
    const now = performance.now()
    if (now - this.#startedAt >= totalMs) {
      return this.#end(
        new UpstreamTimeoutError({ logDetail: `stream exceeded its total limit of ${totalMs} ms` }),
      )
    }
    const waitLimit = this.#iterator ? idleMs : firstEventMs
    if (this.#waitingSince !== undefined && now - this.#waitingSince >= waitLimit) {
      const phase = this.#iterator ? 'between events' : 'for the first event'
      const error = new UpstreamTimeoutError({
        logDetail: `no upstream event ${phase} within ${waitLimit} ms`,
      })
      this.#waitingSince = undefined
      this.#attempt.abort(error)
      this.#wake()
    }
    if (this.#iterator && now - this.#lastDataAt >= heartbeatMs) {
      this.#heartbeatDue = true
      this.#lastDataAt = now
      this.#wake()
    }
    const deadlines = [this.#startedAt + totalMs, this.#lastDataAt + heartbeatMs]
    if (this.#waitingSince !== undefined) deadlines.push(this.#waitingSince + waitLimit)
    else deadlines.push(now + Math.min(idleMs, firstEventMs))
    this.#timer = setTimeout(() => this.#arm(), Math.max(1, Math.min(...deadlines) - now))
  }

  #end(reason: AppError) {
    if (this.#session.signal.aborted) return
    this.#session.abort(reason)
    this.#attempt.abort(reason)
    this.#wake()
  }

  #close() {
    clearTimeout(this.#timer)
    this.#options.clientSignal.removeEventListener('abort', this.#onClientGone)
    // Whatever ended the session, the upstream request must not outlive it. After the upstream's last
    // part, finishing the provider's generator releases its body; otherwise abort the request.
    if (this.#completed) this.#iterator?.return?.(undefined).catch(() => {})
    else if (!this.#attempt.signal.aborted) this.#attempt.abort(new ClientClosedRequestError())
    if (!this.#response || this.#response.closed) this.#forget()
  }

  #forget() {
    this.#options.registry.delete(this)
    this.#resolveClosed()
  }

  #wake() {
    this.#woken = true
    this.#settleWait?.(WAKE)
  }

  /**
   * The next part, or WAKE as soon as a timer or `#end` wants the loop's attention. A fresh promise per
   * wait: racing one long-lived wake-up promise would pile a reaction onto it for every event.
   */
  #waitFor(pending: Promise<IteratorResult<StreamPart>>) {
    if (this.#woken) return WAKE
    return new Promise<IteratorResult<StreamPart> | typeof WAKE>((resolve, reject) => {
      this.#settleWait = resolve
      pending.then(resolve, reject)
    })
  }
}

function toAppError(error: unknown): AppError {
  return error instanceof AppError
    ? error
    : new UpstreamUnavailableError({ cause: error, logDetail: String(error) })
}
