import type { Redis } from 'ioredis'
import type { RelayEvent } from '../../streaming/pipeline.js'
import { isTerminal, type LogReader, type LogSubscription } from '../../streaming/replay-log.js'

/** One blocking read waits this long for new entries, then the follower checks it is still wanted. */
const BLOCK_MS = 1_000
/** Entries read at once. */
const BATCH = 100
/**
 * How long a follower here keeps a stream produced elsewhere going once it stops saying so: the producer
 * checks the flag before cancelling for want of followers (resumable-stream.ts).
 */
export const WATCH_MS = 5_000

export interface RedisFollowerOptions {
  /** The app's client: a duplicate of it blocks on XREAD, so nothing else waits behind. */
  redis: Redis
  /** The stream's key. */
  key: string
  afterSeq: number
  reader: LogReader
  decode: (text: string) => RelayEvent
  onClose: () => void
}

/**
 * Follows a stream produced on another instance: `XREAD BLOCK` on a connection of its own (a blocking
 * read holds its connection), from the entry after `afterSeq` (entry ids are `<seq>-0`) until the
 * terminal event. While the reader is full it does not read; it flags the stream as watched meanwhile.
 */
export class RedisFollower implements LogSubscription {
  readonly #options: RedisFollowerOptions
  readonly #connection: Redis
  #lastId: string
  #nextSeq: number
  #closed = false
  #onRoom: (() => void) | undefined

  constructor(options: RedisFollowerOptions) {
    this.#options = options
    this.#lastId = `${options.afterSeq}-0`
    this.#nextSeq = options.afterSeq + 1
    this.#connection = options.redis.duplicate({
      enableOfflineQueue: true,
      commandTimeout: BLOCK_MS + 2_000,
      lazyConnect: false,
    })
    this.#connection.on('error', () => {
      // A lost connection ends the read loop below, which tells the reader.
    })
  }

  start(): void {
    this.#loop().catch(() => this.#lose())
  }

  resume(): void {
    this.#onRoom?.()
    this.#onRoom = undefined
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.resume()
    this.#connection.disconnect()
    this.#options.onClose()
  }

  async #loop(): Promise<void> {
    const { key, reader, decode, redis } = this.#options
    while (!this.#closed) {
      redis.set(`${key}:watch`, '1', 'PX', WATCH_MS).catch(() => {})
      const result = await this.#connection.xread(
        'COUNT',
        BATCH,
        'BLOCK',
        BLOCK_MS,
        'STREAMS',
        key,
        this.#lastId,
      )
      if (this.#closed) return
      if (result === null) {
        // Nothing new: the stream may have expired meanwhile (its producer died and its keys ran out).
        if ((await redis.exists(`${key}:meta`)) === 0) return this.#lose()
        continue
      }
      let full = false
      for (const [id, fields] of result[0]?.[1] ?? []) {
        const seq = Number.parseInt(id, 10)
        // Trimmed by MAXLEN: what comes next is gone.
        if (seq !== this.#nextSeq) return this.#lose()
        this.#lastId = id
        this.#nextSeq = seq + 1
        const event = decode(fields[1] as string)
        full = !reader.next(seq, event) || full
        if (isTerminal(event)) return this.close()
      }
      if (full) await new Promise<void>((resolve) => (this.#onRoom = resolve))
    }
  }

  #lose(): void {
    if (this.#closed) return
    this.close()
    this.#options.reader.lost()
  }
}
