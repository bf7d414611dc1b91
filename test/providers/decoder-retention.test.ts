import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { LineDecoder } from '../../src/providers/line-decoder.js'
import { SseDecoder } from '../../src/providers/sse-decoder.js'

setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

/**
 * Whether `items` can be collected while the decoder that returned them lives on. A WeakRef keeps its
 * target for the rest of the current job, so the check waits a turn before collecting.
 */
async function outlivedByDecoder(decoder: object, items: () => unknown[]): Promise<boolean> {
  const returned = new WeakRef(items())
  await new Promise(setImmediate)
  collectGarbage()
  expect(decoder).toBeDefined()
  return returned.deref() !== undefined
}

// Held by a field, a chunk's items live as long as the decoder: in a long stream the decoder reaches
// V8's old generation and every chunk's last items are promoted with it (BENCHMARKS.md, "Upstream decoders").
describe('decoders keep nothing of a chunk once they returned its items', () => {
  it('SseDecoder', async () => {
    const decoder = new SseDecoder(1_024, (type, data) => ({ type, data }))
    const items = () => decoder.push(Buffer.from('event: a\ndata: 1\n\ndata: 2\n\n'))
    expect(items()).toHaveLength(2)
    expect(await outlivedByDecoder(decoder, items)).toBe(false)
  })

  it('LineDecoder', async () => {
    const decoder = new LineDecoder(1_024)
    const items = () => decoder.push(Buffer.from('{"a":1}\n{"b":2}\n'))
    expect(items()).toHaveLength(2)
    expect(await outlivedByDecoder(decoder, items)).toBe(false)
  })
})
