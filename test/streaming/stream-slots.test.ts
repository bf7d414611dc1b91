import { describe, expect, it } from 'vitest'
import { RateLimitedError } from '../../src/errors.js'
import { MemoryStreamSlots } from '../../src/streaming/stream-slots.js'

describe('MemoryStreamSlots', () => {
  it('admits `limit` streams per client, then rejects with a 429 RateLimitedError naming the limit', async () => {
    const slots = new MemoryStreamSlots()
    await slots.acquire('a', 2)
    await slots.acquire('a', 2)
    const refused = await slots.acquire('a', 2).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RateLimitedError)
    expect(refused).toMatchObject({
      statusCode: 429,
      code: 'rate_limited',
      limit: 'streams',
      retryAfterMs: 1000,
    })
    expect(slots.openFor('a')).toBe(2)
  })

  it('counts each client apart', async () => {
    const slots = new MemoryStreamSlots()
    await slots.acquire('a', 1)
    await expect(slots.acquire('b', 1)).resolves.toBeDefined()
  })

  it('gives a slot back once, however often its lease is released', async () => {
    const slots = new MemoryStreamSlots()
    const first = await slots.acquire('a', 2)
    await slots.acquire('a', 2)
    first.release()
    first.release()
    expect(slots.openFor('a')).toBe(1)
    await expect(slots.acquire('a', 2)).resolves.toBeDefined()
  })
})
