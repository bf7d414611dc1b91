import type { RelayEvent } from './pipeline.js'

/** How a stream's events become bytes on the wire: one per format (SSE, NDJSON), one per stream. */
export interface WireFormat {
  /** The response's headers: its content type, no caching, no buffering by proxies. */
  headers: Record<string, string>
  /** Written before the first event (e.g. /rag's sources frame). */
  preface?: string
  /**
   * The frame for an event; undefined when the event has none in this format. `seq` is the event's place
   * in a resumable stream's replay log (its frame's id); without it the format numbers frames itself.
   */
  encode(event: RelayEvent, seq?: number): string | undefined
  /** A frame written after `intervalMs` without any other, so proxies and clients do not time out. */
  heartbeat?: { frame: string; intervalMs: number }
}
