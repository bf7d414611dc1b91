import { PackedEvents } from './packed-events.js'
import type { RelayEvent } from './pipeline.js'
import {
  eventBytes,
  isTerminal,
  type LoggedStream,
  type LogReader,
  type LogSubscription,
  type ReplayLog,
} from './replay-log.js'

export interface MemoryReplayLogOptions {
  /** How long a stream's events stay after it ended. */
  retentionMs: number
  /** The most one stream holds: its oldest events go first. */
  maxBytesPerStream: number
  /** The most all streams hold together: the oldest stream's events go first (ended streams whole). */
  maxBytes: number
  /** Counts events evicted before their retention time was over (metrics). */
  onEvicted?: (events: number) => void
}

/** One stream's events in memory: as they come while it runs, packed once it has ended. */
class StreamRecord implements LoggedStream {
  events: RelayEvent[] = []
  packed: PackedEvents | undefined
  firstSeq = 1
  endSeq: number | undefined
  /** When its retention time is over (once it has ended). */
  expiresAt = 0
  bytes = 0
  deleted = false
  readonly readers = new Set<MemorySubscription>()

  constructor(
    readonly streamId: string,
    readonly owner: string | undefined,
    readonly preface: string | undefined,
  ) {}

  get length(): number {
    return this.packed ? this.packed.length : this.events.length
  }

  /** The event `index` places after its first held one. */
  at(index: number): RelayEvent | undefined {
    return this.packed ? this.packed.at(index) : this.events[index]
  }

  /** The seq the next event gets. */
  get nextSeq(): number {
    return this.firstSeq + this.length
  }

  /** It has ended: its events are packed for the retention time (packed-events.ts). */
  pack(): void {
    this.packed = new PackedEvents(this.events)
    this.events = []
  }
}

/**
 * The replay log of one instance. Streams are kept in a Map in creation order, which is also the eviction
 * order. Live readers are given each event synchronously as it is appended: no Promise, no timer per
 * event; a full reader is skipped until it resumes and reads on from the array. Ended streams expire in
 * the order they ended, all retained equally long: one queue and one timer for the log, not a timer per
 * stream (a Timeout per stream retained for a minute was ~100 bytes promoted per stream).
 */
export class MemoryReplayLog implements ReplayLog {
  readonly #options: MemoryReplayLogOptions
  readonly #streams = new Map<string, StreamRecord>()
  /** Ended streams, in the order they expire; deleted ones are skipped when reached. */
  #ended: StreamRecord[] = []
  #expiry: NodeJS.Timeout | undefined
  #bytes = 0

  constructor(options: MemoryReplayLogOptions) {
    this.#options = options
  }

  /** What the log holds, in the bytes its bounds count. */
  get bytes(): number {
    return this.#bytes
  }

  /** How many streams it holds. */
  get size(): number {
    return this.#streams.size
  }

  /** Whether it holds the stream. */
  has(streamId: string): boolean {
    return this.#streams.has(streamId)
  }

  create(streamId: string, owner: string | undefined, preface: string | undefined): void {
    this.#streams.set(streamId, new StreamRecord(streamId, owner, preface))
  }

  append(streamId: string, event: RelayEvent): void {
    const record = this.#streams.get(streamId)
    if (record === undefined || record.endSeq !== undefined) return
    record.events.push(event)
    const bytes = eventBytes(event)
    record.bytes += bytes
    this.#bytes += bytes
    const terminal = isTerminal(event)
    if (terminal) record.endSeq = record.nextSeq - 1
    if (record.bytes > this.#options.maxBytesPerStream)
      this.#evictFrom(record, record.bytes - this.#options.maxBytesPerStream)
    if (this.#bytes > this.#options.maxBytes) this.#evictOldest()
    for (const reader of record.readers) reader.pump()
    if (terminal && !record.deleted) this.#retain(record)
  }

  async lookup(streamId: string): Promise<LoggedStream | undefined> {
    return this.#streams.get(streamId)
  }

  follow(streamId: string, afterSeq: number, reader: LogReader): LogSubscription {
    const record = this.#streams.get(streamId)
    const subscription = new MemorySubscription(record, afterSeq + 1, reader)
    record?.readers.add(subscription)
    subscription.pump()
    return subscription
  }

  async cancel(): Promise<void> {
    // One instance: the stream is produced here, and Resumption cancels it directly.
  }

  onCancel(): void {
    // Nobody else asks.
  }

  async watchedElsewhere(): Promise<boolean> {
    return false
  }

  async close(): Promise<void> {
    clearTimeout(this.#expiry)
    for (const record of this.#streams.values()) this.#delete(record)
  }

  /** The stream has ended: its events are packed and kept for the retention time. */
  #retain(record: StreamRecord): void {
    record.pack()
    record.expiresAt = performance.now() + this.#options.retentionMs
    this.#ended.push(record)
    if (this.#expiry === undefined) this.#armExpiry(this.#options.retentionMs)
  }

  #armExpiry(delay: number): void {
    this.#expiry = setTimeout(() => this.#expire(), delay).unref()
  }

  /**
   * Deletes the streams whose retention time is over, then sleeps until the next one's, at least a
   * second (or the retention time, if shorter): one sweep per second rather than a wake-up per stream.
   */
  #expire(): void {
    this.#expiry = undefined
    const now = performance.now()
    const ended = this.#ended
    let head = 0
    while (head < ended.length) {
      const record = ended[head] as StreamRecord
      if (!record.deleted && record.expiresAt > now) break
      this.#delete(record)
      head++
    }
    ended.splice(0, head)
    const next = ended[0]
    if (next === undefined) return
    const sweep = Math.min(1_000, this.#options.retentionMs)
    this.#armExpiry(Math.max(sweep, next.expiresAt - now))
  }

  /** Drops a stream's oldest events until `bytes` are freed (or only its last event is left). */
  #evictFrom(record: StreamRecord, bytes: number): void {
    let freed = 0
    let count = 0
    while (freed < bytes && record.events.length > 1) {
      // Only a running stream's events are evicted one by one (ended ones go whole), so they are not packed.
      freed += eventBytes(record.events.shift() as RelayEvent)
      count++
    }
    record.firstSeq += count
    record.bytes -= freed
    this.#bytes -= freed
    if (count > 0) this.#options.onEvicted?.(count)
  }

  /** Frees the oldest streams' events until the total is within its bound: ended streams go whole. */
  #evictOldest(): void {
    for (const record of this.#streams.values()) {
      if (this.#bytes <= this.#options.maxBytes) return
      if (record.endSeq !== undefined || record.length <= 1) {
        this.#options.onEvicted?.(record.length)
        this.#delete(record)
      } else {
        this.#evictFrom(record, this.#bytes - this.#options.maxBytes)
      }
    }
  }

  #delete(record: StreamRecord): void {
    if (record.deleted) return
    record.deleted = true
    this.#bytes -= record.bytes
    this.#streams.delete(record.streamId)
    for (const reader of record.readers) reader.pump()
  }
}

/** A reader's place in one record: `nextSeq` is the next event it is to be given. */
class MemorySubscription implements LogSubscription {
  #record: StreamRecord | undefined
  #nextSeq: number
  readonly #reader: LogReader
  #full = false
  #closed = false

  constructor(record: StreamRecord | undefined, nextSeq: number, reader: LogReader) {
    this.#record = record
    this.#nextSeq = nextSeq
    this.#reader = reader
  }

  /** Gives the reader what it has not read, until it is full, has read the terminal event, or lost its place. */
  pump(): void {
    if (this.#closed) return
    const record = this.#record
    if (record === undefined) {
      this.#lose()
      return
    }
    while (!this.#full && !this.#closed) {
      if (record.deleted || this.#nextSeq < record.firstSeq) {
        this.#lose()
        return
      }
      const event = record.at(this.#nextSeq - record.firstSeq)
      if (event === undefined) return
      const seq = this.#nextSeq++
      this.#full = !this.#reader.next(seq, event)
      if (seq === record.endSeq) this.close()
    }
  }

  resume(): void {
    this.#full = false
    this.pump()
  }

  close(): void {
    this.#closed = true
    this.#record?.readers.delete(this)
    this.#record = undefined
  }

  #lose(): void {
    this.close()
    this.#reader.lost()
  }
}
