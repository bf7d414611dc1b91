import { LineSplitter } from './line-splitter.js'

const COLON = 0x3a
const SPACE = 0x20

/** Turns one dispatched event (its `event:` type, if any, and its data) into the caller's item. */
export type SseEventReader<Item> = (type: string | undefined, data: string) => Item

/**
 * Decodes a `text/event-stream` body chunk by chunk, as the HTML standard's event stream format says:
 * lines end at CR, LF or CRLF; a leading BOM is skipped; `data` lines accumulate, joined by LF; `event`
 * names the type; comments (`:`) and unknown fields are ignored; a blank line dispatches the event when
 * it has data; an event cut off by the end of the body is dropped. `id` and `retry` only serve a client
 * that reconnects, which this one never does, so they are read past like unknown fields.
 *
 * Linear in the bytes received, and bounded: an event (every line up to its blank line) longer than
 * `maxEventBytes` stops it with an OverLimitError in `failure`, as does `read` throwing (the events
 * before either are returned). It replaces
 * eventsource-parser 3.1.1, which builds an Error, stack and all, for every line of an unknown field
 * and, with CR line endings, searches for an LF from every line to the end of the chunk (quadratic in
 * the chunk): BENCHMARKS.md, "Upstream decoders".
 */
export class SseDecoder<Item> {
  readonly #splitter: LineSplitter
  readonly #read: SseEventReader<Item>
  #type: string | undefined
  #data = ''
  #dataLines = 0
  #firstLine = true

  constructor(maxEventBytes: number, read: SseEventReader<Item>) {
    this.#splitter = new LineSplitter({ crEndsLines: true, maxBytes: maxEventBytes, unit: 'an SSE event' })
    this.#read = read
  }

  /** Why decoding stopped, once it has: nothing follows the items already returned. */
  get failure(): unknown {
    return this.#splitter.failure
  }

  /** The items of the events this chunk completes, in a new array the caller owns. */
  push(chunk: Uint8Array): Item[] {
    const items: Item[] = []
    this.#splitter.split(chunk, this.#onLine, items)
    return items
  }

  /** Nothing: an event cut off by the end of the body is dropped, as the standard says. */
  end(): Item[] {
    this.#splitter.takeOpenLine()
    return []
  }

  readonly #onLine = (items: Item[], source: Buffer, lineStart: number, end: number) => {
    let start = lineStart
    if (this.#firstLine) {
      this.#firstLine = false
      if (
        end - start >= 3 &&
        source[start] === 0xef &&
        source[start + 1] === 0xbb &&
        source[start + 2] === 0xbf
      )
        start += 3
    }
    if (start === end) return this.#dispatch(items)
    if (source[start] === COLON) return
    // Field names are short: the scan stops at the colon, or at the end of a line without one.
    let colon = start
    while (colon < end && source[colon] !== COLON) colon++
    let valueStart = Math.min(colon + 1, end)
    if (valueStart < end && source[valueStart] === SPACE) valueStart++
    if (isField(source, start, colon, 'data')) {
      const value = source.toString('utf8', valueStart, end)
      this.#data = this.#dataLines === 0 ? value : `${this.#data}\n${value}`
      this.#dataLines++
    } else if (isField(source, start, colon, 'event')) {
      this.#type = source.toString('utf8', valueStart, end) || undefined
    }
  }

  #dispatch(items: Item[]) {
    this.#splitter.resetBudget()
    if (this.#dataLines > 0) items.push(this.#read(this.#type, this.#data))
    this.#type = undefined
    this.#data = ''
    this.#dataLines = 0
  }
}

function isField(source: Buffer, start: number, colon: number, name: string): boolean {
  if (colon - start !== name.length) return false
  for (let index = 0; index < name.length; index++) {
    if (source[start + index] !== name.charCodeAt(index)) return false
  }
  return true
}
