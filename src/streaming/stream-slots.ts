import { RateLimitedError } from '../errors.js'

/**
 * What a client may not tell from a full stream limit is when a slot frees: streams end when their answer
 * does. One second is the shortest Retry-After there is, and about what a short answer takes.
 */
export const STREAM_RETRY_AFTER_MS = 1_000

/** A stream slot held by one open stream; released once, when the stream is over however it ended. */
export interface StreamLease {
  /** Gives the slot back; later calls do nothing. */
  release(): void
}

/**
 * Counts the streams each client holds open, so none holds more than its limit. In memory for one
 * instance (below), or shared by every instance through Redis (plugins/limits/redis-stream-slots.ts).
 */
export interface StreamSlots {
  /**
   * A slot for one more stream of `client`; rejects with RateLimitedError (429) when it holds `limit`
   * already, before the stream starts.
   */
  acquire(client: string, limit: number): Promise<StreamLease>
}

/** The 429 of a client at its stream limit. */
export function tooManyStreams(limit: number): RateLimitedError {
  const reason = `${limit} stream${limit === 1 ? '' : 's'} already open for this client; close one first`
  return new RateLimitedError('streams', reason, STREAM_RETRY_AFTER_MS)
}

/** A lease with nothing to give back (a slot that was not counted). */
export const UNCOUNTED_LEASE: StreamLease = { release() {} }

/** The stream slots of one instance. */
export class MemoryStreamSlots implements StreamSlots {
  readonly #open = new Map<string, number>()

  /** How many streams `client` holds open. */
  openFor(client: string): number {
    return this.#open.get(client) ?? 0
  }

  async acquire(client: string, limit: number): Promise<StreamLease> {
    const open = this.openFor(client)
    if (open >= limit) throw tooManyStreams(limit)
    this.#open.set(client, open + 1)
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        const left = this.openFor(client) - 1
        if (left > 0) this.#open.set(client, left)
        else this.#open.delete(client)
      },
    }
  }
}
