import { describe, expect, it } from 'vitest'
import { UpstreamTimeoutError } from '../../src/errors.js'
import { MemoryReplayLog, type MemoryReplayLogOptions } from '../../src/streaming/memory-replay-log.js'
import type { RelayEvent } from '../../src/streaming/pipeline.js'
import { EVENT_OVERHEAD_BYTES, type LogReader } from '../../src/streaming/replay-log.js'
import { waitFor } from '../wait-for.js'
import { delta, end, start } from './doubles.js'

const part = (streamPart: ReturnType<typeof delta>): RelayEvent => ({ type: 'part', part: streamPart })
/** What a delta of `text` counts against the bounds. */
const deltaBytes = (text: string) => EVENT_OVERHEAD_BYTES + text.length * 2

function memoryLog(options: Partial<MemoryReplayLogOptions> = {}) {
  let evicted = 0
  const log = new MemoryReplayLog({
    retentionMs: 60_000,
    maxBytesPerStream: 1_048_576,
    maxBytes: 67_108_864,
    onEvicted: (events) => {
      evicted += events
    },
    ...options,
  })
  return { log, evicted: () => evicted }
}

/** A reader that records what it is given; `room` says whether it takes more after each event. */
function recorder(room: () => boolean = () => true) {
  const seen: [number, RelayEvent][] = []
  let lost = false
  const reader: LogReader = {
    next(seq, event) {
      seen.push([seq, event])
      return room()
    },
    lost() {
      lost = true
    },
  }
  return { reader, seen, seqs: () => seen.map(([seq]) => seq), lost: () => lost }
}

describe('MemoryReplayLog', () => {
  it('numbers events from 1 and gives a follower those after its place, then new ones as they come', async () => {
    const { log } = memoryLog()
    log.create('s', 'web', 'preface-frame')
    log.append('s', part(start()))
    log.append('s', part(delta('a')))
    const follower = recorder()
    log.follow('s', 1, follower.reader)
    expect(follower.seqs()).toEqual([2])
    log.append('s', part(delta('b')))
    log.append('s', part(end()))
    expect(follower.seqs()).toEqual([2, 3, 4])
    expect(await log.lookup('s')).toMatchObject({
      owner: 'web',
      preface: 'preface-frame',
      firstSeq: 1,
      endSeq: 4,
    })
  })

  it('holds a full follower back until it resumes, then gives it the rest in order', () => {
    const { log } = memoryLog()
    log.create('s', undefined, undefined)
    let room = false
    const follower = recorder(() => room)
    const subscription = log.follow('s', 0, follower.reader)
    for (const text of ['a', 'b', 'c']) log.append('s', part(delta(text)))
    expect(follower.seqs()).toEqual([1])
    room = true
    subscription.resume()
    expect(follower.seqs()).toEqual([1, 2, 3])
  })

  it('keeps a stream within its own bound, dropping its oldest events, counted', async () => {
    const { log, evicted } = memoryLog({ maxBytesPerStream: deltaBytes('x'.repeat(10)) * 3 })
    log.create('s', undefined, undefined)
    for (let index = 0; index < 10; index++) log.append('s', part(delta('x'.repeat(10))))
    expect(log.bytes).toBe(deltaBytes('x'.repeat(10)) * 3)
    expect(evicted()).toBe(7)
    expect((await log.lookup('s'))?.firstSeq).toBe(8)
  })

  it('tells a follower whose next event was evicted that it is lost', () => {
    const { log } = memoryLog({ maxBytesPerStream: deltaBytes('x') * 2 })
    log.create('s', undefined, undefined)
    const follower = recorder(() => false)
    const subscription = log.follow('s', 0, follower.reader)
    for (let index = 0; index < 5; index++) log.append('s', part(delta('x')))
    subscription.resume()
    expect(follower.seqs()).toEqual([1])
    expect(follower.lost()).toBe(true)
  })

  it('forgets an ended stream once its retention is over', async () => {
    const { log } = memoryLog({ retentionMs: 20 })
    log.create('s', undefined, undefined)
    log.append('s', { type: 'failure', error: new UpstreamTimeoutError() })
    expect((await log.lookup('s'))?.endSeq).toBe(1)
    await waitFor(async () => (await log.lookup('s')) === undefined)
    expect(log.bytes).toBe(0)
  })

  it('gives a follower of an ended stream every event as it was appended, the deltas rebuilt from their packed text', () => {
    const { log } = memoryLog()
    log.create('s', undefined, undefined)
    const events = [part(start()), part(delta('Hel')), part(delta('lo, ')), part(delta('wörld')), part(end())]
    for (const event of events) log.append('s', event)
    const follower = recorder()
    log.follow('s', 0, follower.reader)
    expect(follower.seen).toEqual(events.map((event, index) => [index + 1, event]))
    const late = recorder()
    log.follow('s', 2, late.reader)
    expect(late.seen).toEqual([
      [3, part(delta('lo, '))],
      [4, part(delta('wörld'))],
      [5, part(end())],
    ])
  })

  it('forgets ended streams in the order they ended, each after its own retention time', async () => {
    const { log } = memoryLog({ retentionMs: 40 })
    for (const id of ['a', 'b']) log.create(id, undefined, undefined)
    log.append('a', part(end()))
    await waitFor(async () => (await log.lookup('a')) === undefined)
    // 'b' was still running when 'a' expired: it is held for its whole retention time from its own end.
    expect(await log.lookup('b')).toBeDefined()
    log.append('b', part(end()))
    expect((await log.lookup('b'))?.endSeq).toBe(1)
    await waitFor(async () => (await log.lookup('b')) === undefined)
    expect(log.bytes).toBe(0)
  })

  it('1,000 concurrent streams never hold more than the total bound: ended streams go first, then the oldest events', async () => {
    const maxBytes = 256 * 1024
    const { log, evicted } = memoryLog({ maxBytes, maxBytesPerStream: 16 * 1024 })
    const text = 'token '.repeat(4)
    let highest = 0
    for (let id = 0; id < 1_000; id++) log.create(`s${id}`, undefined, undefined)
    // 1,000 streams interleaved, 40 deltas each: 1,000 x 40 x 112 bytes, ~17 times the bound.
    for (let round = 0; round < 40; round++) {
      for (let id = 0; id < 1_000; id++) {
        log.append(`s${id}`, part(round === 39 && id % 2 === 0 ? end() : delta(text)))
        highest = Math.max(highest, log.bytes)
      }
    }
    expect(highest).toBeLessThanOrEqual(maxBytes)
    expect(evicted()).toBeGreaterThan(0)
    // Oldest first: the first stream, ended, is gone whole; the last one still has its end.
    expect(await log.lookup('s0')).toBeUndefined()
    expect((await log.lookup('s998'))?.endSeq).toBe(40)
  })
})
