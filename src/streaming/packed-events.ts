import type { RelayEvent } from './pipeline.js'

/**
 * An ended stream's events, packed for the retention time it spends in the memory replay log: its text
 * deltas joined in one string with their end offsets, the few other events (start, end, failure) kept as
 * they are. Kept as they were made, a 20-delta stream's ~60 objects (events, parts, strings) outlive the
 * scavenges of its retention and are promoted: copying them, then marking them, was the largest share of
 * what resumption cost a stream (BENCHMARKS.md, "Resumable streams"); packed, it is four objects. A delta
 * is rebuilt when a follower reads it, which only a resuming client does. Like the Redis log, it keeps a
 * part's text, not its `raw` upstream line (only /local-stream passes that, and it is not resumable).
 */
export class PackedEvents {
  readonly #text: string
  /** Where event i's text ends in #text (an event that is not a delta: where the previous one ended). */
  readonly #ends: Uint32Array
  /** The events that are not text deltas, at their index; holes elsewhere. */
  readonly #others: (RelayEvent | undefined)[]

  constructor(events: readonly RelayEvent[]) {
    const ends = new Uint32Array(events.length)
    const others: (RelayEvent | undefined)[] = new Array(events.length)
    const texts: string[] = []
    let end = 0
    for (let index = 0; index < events.length; index++) {
      const event = events[index] as RelayEvent
      if (event.type === 'part' && event.part.type === 'text-delta') {
        texts.push(event.part.text)
        end += event.part.text.length
      } else {
        others[index] = event
      }
      ends[index] = end
    }
    this.#text = texts.join('')
    this.#ends = ends
    this.#others = others
  }

  get length(): number {
    return this.#ends.length
  }

  /** The event at `index`, or undefined past the end. */
  at(index: number): RelayEvent | undefined {
    if (index >= this.#ends.length) return undefined
    const other = this.#others[index]
    if (other !== undefined) return other
    const start = index === 0 ? 0 : (this.#ends[index - 1] as number)
    return { type: 'part', part: { type: 'text-delta', text: this.#text.slice(start, this.#ends[index]) } }
  }
}
