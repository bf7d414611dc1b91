import { describe, expect, it } from 'vitest'
import { MemoryAnswerStore } from '../../src/services/answer-store.js'

/** A store on a clock the test moves. */
function store(options: { ttlMs?: number; maxEntries?: number; maxBytes?: number } = {}) {
  const clock = { now: 1_000_000 }
  const answers = new MemoryAnswerStore({
    ttlMs: options.ttlMs ?? 60_000,
    maxEntries: options.maxEntries ?? 100,
    maxBytes: options.maxBytes ?? 1_000_000,
    now: () => clock.now,
  })
  return { answers, clock }
}

const answer = (text: string, storedAt = 0) => ({ text, model: 'gpt-5', storedAt })

describe('MemoryAnswerStore', () => {
  it('serves an answer until its TTL has passed on the clock, then no longer', async () => {
    const { answers, clock } = store({ ttlMs: 60_000 })
    answers.set('k', answer('kept'))
    clock.now += 60_000
    expect(await answers.get('k')).toEqual(answer('kept'))
    clock.now += 1
    expect(await answers.get('k')).toBeUndefined()
  })

  it('keeps at most CACHE_MAX_ENTRIES answers, dropping the least recently used', async () => {
    const { answers } = store({ maxEntries: 2 })
    answers.set('a', answer('A'))
    answers.set('b', answer('B'))
    await answers.get('a')
    answers.set('c', answer('C'))
    expect(answers.size).toBe(2)
    expect(await answers.get('b')).toBeUndefined()
    expect((await answers.get('a'))?.text).toBe('A')
  })

  it('keeps the answers within CACHE_MAX_BYTES, and none larger than the bound', async () => {
    // Each answer below weighs 2 * (1000 + 5) + 64 = 2074 bytes: two fit in 5000, not three.
    const { answers } = store({ maxBytes: 5_000 })
    for (const key of ['a', 'b', 'c']) answers.set(key, answer(key.repeat(1_000)))
    expect(answers.size).toBe(2)
    expect(await answers.get('a')).toBeUndefined()
    answers.set('huge', answer('x'.repeat(3_000)))
    expect(await answers.get('huge')).toBeUndefined()
  })
})
