import type { CancelSignal } from '../cancellation.js'
import { StreamCancelledError, StreamGoneError } from '../errors.js'
import type { LogReader, LogSubscription, ReplayLog } from './replay-log.js'
import { type FollowerPacing, ResumableStream } from './resumable-stream.js'

export interface ResumptionOptions {
  /** Where the streams' events are kept (memory, or Redis shared by every instance). */
  log: ReplayLog
  /** Whether other instances read the same log (Redis): then followers here may resume elsewhere. */
  shared: boolean
  /** How long generation goes on with nobody attached (STREAM_RESUME_GRACE_MS). */
  graceMs: number
}

/** Who asks to follow or cancel a stream: the request's API key (undefined when keys are off). */
export type Requester = { name: string; scope: string } | undefined

/** A request that may follow a stream: what it is to be written, and how it starts reading. */
export interface Following {
  streamId: string
  /** The preface frame, for a follower that starts from the top. */
  preface: string | undefined
  /** Gives `reader` the events; `hangUp` ends its response at shutdown so its client reconnects elsewhere. */
  start(reader: LogReader, hangUp: () => void): LogSubscription
}

/** The `retry:` a follower is told before its response is closed for a shutdown: reconnect soon. */
export const SHUTDOWN_RECONNECT_MS = 1_000

/**
 * Resumable streams (README "Resumable streams"): opens them, finds them again for a request carrying a
 * Last-Event-ID or naming one, and cancels them. Only the key that started a stream, or an admin, may
 * follow or cancel it; to anyone else it is as unknown as an expired one.
 */
export class Resumption {
  readonly #options: ResumptionOptions
  /** The streams produced on this instance and not over yet. */
  readonly #local = new Map<string, ResumableStream>()
  /** The followers on this instance: their hang-up, for shutdown. */
  readonly #hangUps = new Set<() => void>()

  constructor(options: ResumptionOptions) {
    this.#options = options
    options.log.onCancel((streamId) => this.#local.get(streamId)?.control.cancel(new StreamCancelledError()))
  }

  get log(): ReplayLog {
    return this.#options.log
  }

  /** A new resumable stream, kept here until `closed` resolves. */
  open(owner: string | undefined, requestSignal: CancelSignal, ended: () => boolean): ResumableStream {
    const { log, graceMs } = this.#options
    return new ResumableStream({ log, owner, graceMs, requestSignal, ended })
  }

  /** Tracks a stream produced here until its session is over. */
  track(stream: ResumableStream, closed: Promise<void>): void {
    this.#local.set(stream.id, stream)
    void closed.then(() => this.#local.delete(stream.id))
  }

  /** The stream's first follower, the client that opened it: from the first event, its preface written already. */
  first(stream: ResumableStream): Following {
    return this.#following(stream.id, 0, undefined, stream)
  }

  /**
   * A follower of `streamId` after `afterSeq` (-1: from the top, preface included). Resolves undefined when
   * the requester has had the terminal frame (204: nothing follows); rejects with StreamGoneError (410)
   * when the stream is unknown, expired, someone else's, or the frames it needs are gone.
   */
  async find(streamId: string, afterSeq: number, requester: Requester): Promise<Following | undefined> {
    const logged = await this.#options.log.lookup(streamId)
    if (logged === undefined || !mayUse(logged.owner, requester)) throw new StreamGoneError()
    if (logged.endSeq !== undefined && afterSeq >= logged.endSeq) return undefined
    // Events are numbered from 1: from the top (-1, the preface's place being 0) the first needed is 1.
    const after = Math.max(afterSeq, 0)
    if (after + 1 < logged.firstSeq) throw new StreamGoneError()
    const preface = afterSeq < 0 ? logged.preface : undefined
    return this.#following(streamId, after, preface, this.#local.get(streamId))
  }

  /** Cancels a stream (DELETE): its upstream is aborted, its followers get a last frame saying so. */
  async cancel(streamId: string, requester: Requester): Promise<void> {
    const local = this.#local.get(streamId)
    if (local) {
      if (!mayUse(local.owner, requester)) throw new StreamGoneError()
      return local.control.cancel(new StreamCancelledError())
    }
    const logged = await this.#options.log.lookup(streamId)
    if (logged === undefined || !mayUse(logged.owner, requester)) throw new StreamGoneError()
    if (logged.endSeq === undefined) await this.#options.log.cancel(streamId)
  }

  /**
   * Shutdown: with a shared log, every follower here is told to reconnect (`retry:`) and its response
   * closed, so its client resumes on another instance while this one finishes generating into the log.
   * With the memory log they stay: another instance could not resume them.
   */
  hangUpFollowers(): void {
    if (!this.#options.shared) return
    for (const hangUp of [...this.#hangUps]) hangUp()
  }

  #following(
    streamId: string,
    afterSeq: number,
    preface: string | undefined,
    local: ResumableStream | undefined,
  ): Following {
    const { log } = this.#options
    const hangUps = this.#hangUps
    return {
      streamId,
      preface,
      start(reader, hangUp) {
        const pacing = local?.attach()
        const subscription = log.follow(streamId, afterSeq, pacing ? paced(reader, pacing) : reader)
        hangUps.add(hangUp)
        return {
          resume() {
            pacing?.room()
            subscription.resume()
          },
          close() {
            hangUps.delete(hangUp)
            subscription.close()
            pacing?.detach()
          },
        }
      },
    }
  }
}

/** A reader whose fullness holds back the stream it follows (backpressure reaches the upstream read). */
function paced(reader: LogReader, pacing: FollowerPacing): LogReader {
  return {
    next(seq, event) {
      if (reader.next(seq, event)) return true
      pacing.full()
      return false
    },
    lost: () => reader.lost(),
  }
}

function mayUse(owner: string | undefined, requester: Requester): boolean {
  return owner === undefined || requester?.scope === 'admin' || requester?.name === owner
}
