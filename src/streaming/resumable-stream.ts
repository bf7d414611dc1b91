import { randomFillSync } from 'node:crypto'
import { Cancellation, type CancelSignal } from '../cancellation.js'
import { type AppError, ClientClosedRequestError } from '../errors.js'
import type { EventSink, RelayEvent } from './pipeline.js'
import type { ReplayLog } from './replay-log.js'

export interface ResumableStreamOptions {
  log: ReplayLog
  /** The API key name that starts it (undefined when keys are off). */
  owner: string | undefined
  /** How long generation goes on with no follower attached before it is cancelled. */
  graceMs: number
  /** The opening request's: followed until the stream has begun (before, the client has no id to resume). */
  requestSignal: CancelSignal
  /** Whether the stream's session has ended (nothing left to log). */
  ended: () => boolean
}

/** What a follower on this instance tells the stream it follows. */
export interface FollowerPacing {
  /** Its response is full: generation waits (backpressure, as without resumption). */
  full(): void
  /** It has room again. */
  room(): void
  /** It is gone; with nobody left, the grace period starts. */
  detach(): void
}

/**
 * A resumable stream produced on this instance: its id, and the policy that ends it. It is the sink of its
 * session: the events reach the log through the replay stage (replay-stage.ts), and followers read them
 * from there, so the sink only paces the upstream read by its followers on this instance. Once begun, the
 * client leaving no longer cancels it; the grace period with nobody attached does, or `control.cancel`
 * (DELETE, shutdown).
 */
export class ResumableStream implements EventSink {
  /**
   * Unguessable: knowing it is what lets a client follow (with its API key, when keys are on). 128 random
   * bits as 22 base64url characters rather than a 36-character UUID: the id is in every frame, and the
   * UUID's 14 more characters were ~300 bytes more per 20-delta stream written and kept in the log.
   */
  readonly id = randomId()
  /** Cancels the stream's session. */
  readonly control: Cancellation
  readonly #options: ResumableStreamOptions
  #followers = 0
  #fullFollowers = 0
  #onRoom: (() => void) | undefined
  #room: Promise<void> | undefined
  #grace: NodeJS.Timeout | undefined
  #ended = false
  #onFailure: ((error: AppError) => void) | undefined

  constructor(options: ResumableStreamOptions) {
    this.#options = options
    this.control = new Cancellation(options.requestSignal)
  }

  get owner(): string | undefined {
    return this.#options.owner
  }

  /**
   * The stream's first frames are about to leave: from here it is in the log under its id and outlives its
   * client. False when its session has already ended (there is nothing to resume: answer as usual).
   * `onFailure` hears the failure that ends it, if one does (for the request's log).
   */
  begin(preface: string | undefined, onFailure: (error: AppError) => void): boolean {
    if (this.#options.ended()) return false
    this.#onFailure = onFailure
    this.#options.log.create(this.id, this.#options.owner, preface)
    this.control.release()
    return true
  }

  /** A follower on this instance attaches. */
  attach(): FollowerPacing {
    this.#followers++
    clearTimeout(this.#grace)
    let full = false
    let attached = true
    const room = () => {
      if (!full) return
      full = false
      if (--this.#fullFollowers === 0) this.#releaseRoom()
    }
    return {
      full: () => {
        if (full || !attached) return
        full = true
        this.#fullFollowers++
      },
      room,
      detach: () => {
        if (!attached) return
        attached = false
        room()
        if (--this.#followers === 0) this.#armGrace()
      },
    }
  }

  deliver(event: RelayEvent): void {
    // The replay stage has logged the event; followers read it from the log.
    if (event.type === 'failure') this.#onFailure?.(event.error)
  }

  ready(): Promise<void> | undefined {
    if (this.#fullFollowers === 0) return undefined
    this.#room ??= new Promise((resolve) => {
      this.#onRoom = resolve
    })
    return this.#room
  }

  end(): undefined {
    this.#ended = true
    clearTimeout(this.#grace)
    this.#releaseRoom()
    return undefined
  }

  #releaseRoom(): void {
    this.#onRoom?.()
    this.#onRoom = undefined
    this.#room = undefined
  }

  #armGrace(): void {
    if (this.#ended) return
    this.#grace = setTimeout(async () => {
      if (this.#followers > 0 || this.#ended) return
      // A follower on another instance (shared log) keeps it going as one here would.
      if (await this.#options.log.watchedElsewhere(this.id).catch(() => false)) return this.#armGrace()
      if (this.#followers === 0) this.control.cancel(new ClientClosedRequestError())
    }, this.#options.graceMs)
    this.#grace.unref()
  }
}

/**
 * 16 random bytes as base64url, drawn from a pool refilled 256 ids at a time: `randomBytes(16)` per stream
 * is a call into OpenSSL each time (~1.5 % of a stream's CPU in a profile), as `randomUUID` avoids the same way.
 */
function randomId(): string {
  if (poolOffset === idPool.length) {
    randomFillSync(idPool)
    poolOffset = 0
  }
  const id = idPool.toString('base64url', poolOffset, poolOffset + ID_BYTES)
  poolOffset += ID_BYTES
  return id
}

const ID_BYTES = 16
const idPool = Buffer.allocUnsafe(ID_BYTES * 256)
let poolOffset = idPool.length
