import type { RelayEvent } from './pipeline.js'

/** What the log knows of one stream, for a request that wants to follow it. */
export interface LoggedStream {
  /** The API key name that started it (undefined when keys are off): only it, or an admin, may follow. */
  owner: string | undefined
  /** The preface frame (/rag's sources, id `<streamId>:0`), written to followers that start from the top. */
  preface: string | undefined
  /** The seq of its first event still held (earlier ones were evicted). */
  firstSeq: number
  /** The seq of its terminal event (done or error) once it has ended. */
  endSeq: number | undefined
}

/** Whoever reads a stream from its log: a follower writing to a response. */
export interface LogReader {
  /** The event at `seq`, in order, each once; false when the reader is full (call `resume` when it is not). */
  next(seq: number, event: RelayEvent): boolean
  /** What comes next is no longer in the log (evicted, expired): nothing more will be given. */
  lost(): void
}

/** A reader's place in a log. */
export interface LogSubscription {
  /** The reader has room again: give it what it has not read yet. */
  resume(): void
  /** Stops following (the reader is gone); later calls do nothing. */
  close(): void
}

/**
 * Where resumable streams keep their events, while they run and for a retention time after they end,
 * bounded per stream and in total (the oldest evicted first). Adapters: in memory, for one instance
 * (memory-replay-log.ts), and Redis Streams, shared by every instance (plugins/resume/redis-replay-log.ts).
 * Events are numbered from 1 in the order they are appended; the terminal one (a failure or the end part)
 * is the last.
 */
export interface ReplayLog {
  /** A new stream, before its first event. */
  create(streamId: string, owner: string | undefined, preface: string | undefined): void
  /** Appends the stream's next event; a terminal event ends it (its retention time starts). */
  append(streamId: string, event: RelayEvent): void
  /** What is known of a stream; undefined when it is unknown or has expired. */
  lookup(streamId: string): Promise<LoggedStream | undefined>
  /** Gives `reader` the stream's events after `afterSeq`, then each new one, until the terminal one. */
  follow(streamId: string, afterSeq: number, reader: LogReader): LogSubscription
  /** Asks the instance producing the stream to cancel it (a shared log; memory: nothing to ask). */
  cancel(streamId: string): Promise<void>
  /** Hears the cancellations other instances ask for (`cancel`) of streams that may be produced here. */
  onCancel(listener: (streamId: string) => void): void
  /** Whether a follower on another instance watches the stream (keeps its generation going). */
  watchedElsewhere(streamId: string): Promise<boolean>
  /** Releases what the log holds (timers, connections). */
  close(): Promise<void>
}

/** Whether `event` is a stream's last. */
export function isTerminal(event: RelayEvent): boolean {
  return event.type === 'failure' || event.part.type === 'end'
}

/** What an event is counted as against the log's bounds: its text, plus what holding any event costs. */
export function eventBytes(event: RelayEvent): number {
  if (event.type === 'failure') return EVENT_OVERHEAD_BYTES + event.error.message.length
  const { part } = event
  return part.type === 'text-delta' ? EVENT_OVERHEAD_BYTES + part.text.length * 2 : EVENT_OVERHEAD_BYTES
}

/** An event object, its part and an array slot, measured on V8 (a delta's string counted apart, 2 bytes a character). */
export const EVENT_OVERHEAD_BYTES = 64
