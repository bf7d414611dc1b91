import type { Redis } from 'ioredis'
import { AppError, ReplayLogUnavailableError } from '../../errors.js'
import type { StreamPart } from '../../providers/provider.js'
import type { MemoryReplayLog } from '../../streaming/memory-replay-log.js'
import type { RelayEvent } from '../../streaming/pipeline.js'
import {
  EVENT_OVERHEAD_BYTES,
  isTerminal,
  type LoggedStream,
  type LogReader,
  type LogSubscription,
  type ReplayLog,
} from '../../streaming/replay-log.js'
import { RedisFollower } from './redis-follower.js'

/** Where the log lives in Redis: `<prefix><id>` the events (a stream), `:meta` a hash, `:watch` a flag. */
export const REPLAY_REDIS_PREFIX = 'genai:resume:'
/** The channel an instance asks, through, the one producing a stream to cancel it (DELETE elsewhere). */
export const CANCEL_CHANNEL = 'genai:resume:cancel'

export interface RedisReplayLogOptions {
  /** The app's Redis client (commands; auto-pipelined). */
  redis: Redis
  /** This instance's log: its own streams are followed here from memory, with no Redis round trip. */
  local: MemoryReplayLog
  /** How long a stream's keys stay after it ended. */
  retentionMs: number
  /** How long a stream may run at most (STREAM_TOTAL_TIMEOUT_MS): its keys expire after that plus retention, should its instance die. */
  maxLifeMs: number
  /** The most one stream holds, in the bytes the memory log counts: as Redis counts entries, over the per-event overhead. */
  maxBytesPerStream: number
  /** A Redis command failed: warned, not thrown (the stream goes on; local followers still follow). */
  warn: (error: unknown, message: string) => void
}

/**
 * The replay log shared by every instance through Redis Streams (README "Resumable streams"): each event
 * is `XADD <key> MAXLEN ~ <cap> <seq>-0 e <json>`, so an entry's id is its seq; the stream's owner,
 * preface and end are a hash beside it; both expire `retentionMs` after the end. A follower on another
 * instance reads with `XREAD BLOCK` on a connection of its own (redis-follower.ts). The instance producing
 * a stream also keeps it in its memory log, so its own followers cost no round trip.
 */
export class RedisReplayLog implements ReplayLog {
  readonly #options: RedisReplayLogOptions
  readonly #redis: Redis
  /** The seq of the last event appended, per stream produced here. */
  readonly #seqs = new Map<string, number>()
  readonly #followers = new Set<RedisFollower>()
  readonly #maxEntries: number
  #subscriber: Redis | undefined
  #cancelListeners: ((streamId: string) => void)[] = []

  constructor(options: RedisReplayLogOptions) {
    this.#options = options
    this.#redis = options.redis
    this.#maxEntries = Math.max(16, Math.ceil(options.maxBytesPerStream / EVENT_OVERHEAD_BYTES))
  }

  create(streamId: string, owner: string | undefined, preface: string | undefined): void {
    this.#options.local.create(streamId, owner, preface)
    this.#seqs.set(streamId, 0)
    const meta: Record<string, string> = { created: String(Date.now()) }
    if (owner !== undefined) meta.owner = owner
    if (preface !== undefined) meta.preface = preface
    const key = REPLAY_REDIS_PREFIX + streamId
    const ttl = this.#options.maxLifeMs + this.#options.retentionMs
    // Single commands, not MULTI: auto-pipelined, they reach Redis in the order they were issued (a MULTI
    // would overtake the XADDs still waiting for the next tick).
    const warn = (error: unknown) =>
      this.#options.warn(error, 'Redis unreachable: a resumable stream is not shared')
    this.#redis.hset(`${key}:meta`, meta).catch(warn)
    this.#redis.pexpire(`${key}:meta`, ttl).catch(warn)
  }

  append(streamId: string, event: RelayEvent): void {
    this.#options.local.append(streamId, event)
    const last = this.#seqs.get(streamId)
    if (last === undefined) return
    const seq = last + 1
    const key = REPLAY_REDIS_PREFIX + streamId
    const warn = (error: unknown) =>
      this.#options.warn(error, 'Redis unreachable: a stream event is not shared')
    this.#redis.xadd(key, 'MAXLEN', '~', this.#maxEntries, `${seq}-0`, 'e', encode(event)).catch(warn)
    if (!isTerminal(event)) {
      this.#seqs.set(streamId, seq)
      if (seq === 1) this.#redis.pexpire(key, this.#options.maxLifeMs + this.#options.retentionMs).catch(warn)
      return
    }
    this.#seqs.delete(streamId)
    const retention = this.#options.retentionMs
    this.#redis.hset(`${key}:meta`, 'end', seq).catch(warn)
    this.#redis.pexpire(key, retention).catch(warn)
    this.#redis.pexpire(`${key}:meta`, retention).catch(warn)
  }

  async lookup(streamId: string): Promise<LoggedStream | undefined> {
    const local = await this.#options.local.lookup(streamId)
    if (local) return local
    const key = REPLAY_REDIS_PREFIX + streamId
    const [meta, first] = await Promise.all([
      this.#redis.hgetall(`${key}:meta`),
      this.#redis.xrange(key, '-', '+', 'COUNT', 1),
    ]).catch((error: unknown) => {
      throw new ReplayLogUnavailableError({ cause: error, logDetail: String(error) })
    })
    if (meta.created === undefined) return undefined
    const firstId = first[0]?.[0]
    return {
      owner: meta.owner,
      preface: meta.preface,
      firstSeq: firstId === undefined ? 1 : Number.parseInt(firstId, 10),
      endSeq: meta.end === undefined ? undefined : Number(meta.end),
    }
  }

  follow(streamId: string, afterSeq: number, reader: LogReader): LogSubscription {
    // Produced here (running, or ended and still held): read from memory.
    if (this.#options.local.has(streamId)) return this.#options.local.follow(streamId, afterSeq, reader)
    const follower = new RedisFollower({
      redis: this.#redis,
      key: REPLAY_REDIS_PREFIX + streamId,
      afterSeq,
      reader,
      decode,
      onClose: () => this.#followers.delete(follower),
    })
    this.#followers.add(follower)
    follower.start()
    return follower
  }

  async cancel(streamId: string): Promise<void> {
    await this.#redis.publish(CANCEL_CHANNEL, streamId).catch((error: unknown) => {
      throw new ReplayLogUnavailableError({ cause: error, logDetail: String(error) })
    })
  }

  onCancel(listener: (streamId: string) => void): void {
    this.#cancelListeners.push(listener)
    if (this.#subscriber) return
    const subscriber = this.#redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
    this.#subscriber = subscriber
    subscriber.on('error', (error) =>
      this.#options.warn(error, 'Redis unreachable: stream cancellations not heard'),
    )
    subscriber.on('message', (_channel: string, streamId: string) => {
      for (const cancel of this.#cancelListeners) cancel(streamId)
    })
    subscriber.subscribe(CANCEL_CHANNEL).catch(() => {
      // warned through the 'error' listener; ioredis subscribes again once reconnected
    })
  }

  async watchedElsewhere(streamId: string): Promise<boolean> {
    return (await this.#redis.exists(`${REPLAY_REDIS_PREFIX}${streamId}:watch`)) === 1
  }

  async close(): Promise<void> {
    for (const follower of [...this.#followers]) follower.close()
    this.#subscriber?.disconnect()
    await this.#options.local.close()
  }
}

/** An event as a Redis entry's one field: the part without its upstream line, or the failure's safe face. */
function encode(event: RelayEvent): string {
  if (event.type === 'part') return JSON.stringify({ ...event.part, raw: undefined })
  const { statusCode, code, message } = event.error
  return JSON.stringify({ type: 'failure', statusCode, code, message })
}

/** A failure read back from another instance's log: its status, code and safe message. */
class LoggedFailure extends AppError {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

function decode(text: string): RelayEvent {
  const value = JSON.parse(text) as
    | StreamPart
    | { type: 'failure'; statusCode: number; code: string; message: string }
  if (value.type === 'failure')
    return { type: 'failure', error: new LoggedFailure(value.statusCode, value.code, value.message) }
  return { type: 'part', part: value }
}
