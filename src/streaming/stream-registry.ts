import { ServerShuttingDownError } from '../errors.js'
import type { StreamSession } from './stream-session.js'

/** The streams in flight: shutdown ends them, tests count them. */
export class StreamRegistry {
  readonly #open = new Set<StreamSession>()

  /** How many streams are open. */
  get size(): number {
    return this.#open.size
  }

  #onIdle: (() => void) | undefined
  #idle: Promise<void> | undefined

  /** Keeps `session` until it is over and its response has closed. */
  track(session: StreamSession): void {
    this.#open.add(session)
    void session.closed.then(() => {
      this.#open.delete(session)
      if (this.#open.size > 0) return
      this.#onIdle?.()
      this.#onIdle = undefined
      this.#idle = undefined
    })
  }

  /** Resolves once no stream is open (a resumable stream may outlive every request: shutdown waits for it). */
  idle(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve()
    this.#idle ??= new Promise<void>((resolve) => {
      this.#onIdle = resolve
    })
    return this.#idle
  }

  /**
   * Ends every open stream with a last frame saying the server is shutting down, and resolves once their
   * responses have closed (so their keep-alive connections are idle when the server closes idle
   * connections), or after `graceMs`.
   */
  async shutdown(graceMs: number): Promise<void> {
    const sessions = [...this.#open]
    for (const session of sessions) session.cancel(new ServerShuttingDownError())
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
    })
    await Promise.race([Promise.all(sessions.map((session) => session.closed)), grace])
    clearTimeout(timer)
  }
}
