import { describe, expect, it } from 'vitest'
import { KeyedLock } from '../../../../src/rag/stores/lancedb/keyed-lock.js'
import { gatedWork } from '../../../gated-work.js'

/** Lets every promise that can settle now settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('KeyedLock', () => {
  it('runs work on one key one at a time, in the order asked', async () => {
    const lock = new KeyedLock()
    const order: string[] = []
    const [first, second] = [gatedWork('first', order), gatedWork('second', order)]
    const runs = [lock.run(['a'], first.work), lock.run(['a'], second.work)]
    await settle()
    expect(order).toEqual(['first starts'])
    second.open()
    first.open()
    expect(await Promise.all(runs)).toEqual(['first', 'second'])
    expect(order).toEqual(['first starts', 'first ends', 'second starts', 'second ends'])
  })

  it('runs work on other keys at the same time', async () => {
    const lock = new KeyedLock()
    const order: string[] = []
    const [first, second] = [gatedWork('first', order), gatedWork('second', order)]
    const runs = [lock.run(['a'], first.work), lock.run(['b'], second.work)]
    await settle()
    expect(order).toEqual(['first starts', 'second starts'])
    first.open()
    second.open()
    await Promise.all(runs)
  })

  it('queues batches of overlapping keys without deadlock, whatever their order', async () => {
    const lock = new KeyedLock()
    const order: string[] = []
    const [first, second] = [gatedWork('first', order), gatedWork('second', order)]
    const runs = [lock.run(['a', 'b'], first.work), lock.run(['b', 'a', 'b'], second.work)]
    first.open()
    second.open()
    expect(await Promise.all(runs)).toEqual(['first', 'second'])
    expect(order).toEqual(['first starts', 'first ends', 'second starts', 'second ends'])
  })

  it('releases a key when the work holding it fails', async () => {
    const lock = new KeyedLock()
    await expect(lock.run(['a'], () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full')
    await expect(lock.run(['a'], async () => 'next')).resolves.toBe('next')
  })
})
