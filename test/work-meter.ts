/**
 * Counts the work synchronous code does in the primitives whose cost grows with their input: searching,
 * decoding, trimming and copying bytes and strings. A decoder linear in its input stays within a small
 * multiple of the bytes it was given; one that searches again what it has buffered grows with the square
 * of it. No clock is read, so the count is the same on a busy machine: how the linearity of the decoders
 * is tested without timing them.
 *
 * A search in a string counts the whole string: V8 flattens a concatenated string (copying all of it)
 * before searching it, which is where rescanning decoders spend their time. A view (`subarray`) counts
 * nothing; copies count the bytes copied.
 */

type Method = (this: unknown, ...args: unknown[]) => unknown
/** What one call cost, from its receiver, arguments and result. */
type Cost = (self: { length: number }, args: unknown[], result: unknown) => number

const searchedBytes: Cost = (self, [, from = 0], result) =>
  (result === -1 ? self.length : Number(result) + 1) - Math.max(0, Number(from))
const wholeString: Cost = (self) => self.length
const resultLength: Cost = (_self, _args, result) => (result as { length: number }).length

/** Every metered method, where it lives, and what one call costs. */
const METERED: [object, string, Cost][] = [
  [Buffer.prototype, 'indexOf', searchedBytes],
  [Uint8Array.prototype, 'indexOf', searchedBytes],
  [Buffer.prototype, 'toString', resultLength],
  [Buffer, 'concat', resultLength],
  [TextDecoder.prototype, 'decode', (_self, [input]) => (input as Uint8Array | undefined)?.byteLength ?? 0],
  [String.prototype, 'indexOf', wholeString],
  [String.prototype, 'lastIndexOf', wholeString],
  [String.prototype, 'includes', wholeString],
  [String.prototype, 'split', wholeString],
  [String.prototype, 'trim', wholeString],
  [String.prototype, 'slice', resultLength],
  [String.prototype, 'substring', resultLength],
  [JSON, 'parse', (_self, [text]) => String(text).length],
]

/** Runs `run` with every metered method counting, and returns the total count. */
export function countWork(run: () => void): number {
  let work = 0
  let inside = false
  const originals = METERED.map(([owner, name, cost]) => {
    const original = (owner as Record<string, Method>)[name] as Method
    // Only the outermost call counts: a metered method calling another is one piece of work.
    const metered: Method = function (this: unknown, ...args) {
      if (inside) return original.apply(this, args)
      inside = true
      try {
        const result = original.apply(this, args)
        work += cost(this as { length: number }, args, result)
        return result
      } finally {
        inside = false
      }
    }
    Object.defineProperty(owner, name, { value: metered, configurable: true, writable: true })
    return [owner, name, original] as const
  })
  try {
    run()
  } finally {
    for (const [owner, name, original] of originals) {
      Object.defineProperty(owner, name, { value: original, configurable: true, writable: true })
    }
  }
  return work
}

/** Pushes every chunk through `decoder`: how many items came out, and the work it took. */
export function workToDecode(
  decoder: { push(chunk: Uint8Array): unknown[] },
  chunks: Iterable<Uint8Array>,
): { items: number; work: number } {
  let items = 0
  const work = countWork(() => {
    for (const chunk of chunks) items += decoder.push(chunk).length
  })
  return { items, work }
}
