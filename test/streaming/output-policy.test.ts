import { describe, expect, it } from 'vitest'
import { type AppError, ContentPolicyError, UpstreamUnavailableError } from '../../src/errors.js'
import { ContentPolicy } from '../../src/streaming/content-policy.js'
import { outputPolicy } from '../../src/streaming/output-policy.js'
import { Pipeline, type RelayEvent } from '../../src/streaming/pipeline.js'
import { delta, end, RecordingSink, start } from './doubles.js'

const PHRASE = 'project nightingale'

const policy = new ContentPolicy([
  { id: 'secrets', terms: [PHRASE] },
  { id: 'card', pattern: '\\b4[0-9]{15}\\b', maxMatchChars: 16 },
  { id: 'cat', pattern: '\\bcat\\b', maxMatchChars: 3 },
])

/** A started stream whose only stage is the output policy, into a recording sink. */
function policedStream() {
  const failures: AppError[] = []
  const blocked: string[] = []
  const stage = outputPolicy(policy, { blocked: (rule, direction) => blocked.push(`${direction}:${rule}`) })
  const pipeline = new Pipeline([stage], (error) => failures.push(error))
  const sink = new RecordingSink()
  pipeline.attach(sink)
  pipeline.start()
  const push = (...texts: string[]) => {
    for (const text of texts) pipeline.push({ type: 'part', part: delta(text) })
  }
  /** The text the sink has received so far. */
  const received = () => sink.parts.map((part) => (part.type === 'text-delta' ? part.text : '')).join('')
  return { pipeline, sink, failures, blocked, push, received }
}

/** `text` cut into `count` deltas of (nearly) equal length. */
function split(text: string, count: number): string[] {
  const size = Math.ceil(text.length / count)
  return Array.from({ length: count }, (_, index) => text.slice(index * size, (index + 1) * size))
}

describe('outputPolicy', () => {
  it.each([2, 3, 10])('fails the stream on a phrase split across %i deltas, sending none of it', (count) => {
    const stream = policedStream()
    const before = 'An introduction, released once the next part is longer than any match.'
    stream.push(before, 'And then, about the ', ...split(PHRASE, count), ' and more')
    expect(stream.failures).toHaveLength(1)
    const [failure] = stream.failures
    expect(failure).toBeInstanceOf(ContentPolicyError)
    expect((failure as ContentPolicyError).rule).toBe('secrets')
    expect(stream.sink.events.at(-1)).toEqual({ type: 'failure', error: failure })
    expect(stream.received()).toBe(before)
    expect(stream.blocked).toEqual(['output:secrets'])
    expect(stream.pipeline.ended).toBe(true)
  })

  it('fails on the phrase written in full-width letters with zero-width spaces, split across deltas', () => {
    const stream = policedStream()
    stream.push('ｐｒｏｊｅｃｔ', ' ｎｉｇｈ\u200b', 'tin\u200dgale')
    expect(stream.failures.map((error) => (error as ContentPolicyError).rule)).toEqual(['secrets'])
    expect(stream.received()).toBe('')
  })

  it('fails on a regular-expression rule once its match is complete', () => {
    const stream = policedStream()
    stream.push('card: 4111', '1111', '1111', '1111', ' exp')
    expect(stream.failures.map((error) => (error as ContentPolicyError).rule)).toEqual(['card'])
    expect(stream.received()).not.toContain('4111')
  })

  it('relays text that only resembles a rule unchanged, the same parts in the same order', () => {
    const stream = policedStream()
    const parts = [start(), delta('Project '), delta('Nightin'), delta('gal is '), delta('concat'), end()]
    for (const part of parts) stream.pipeline.push({ type: 'part', part })
    expect(stream.failures).toEqual([])
    expect(stream.sink.parts).toEqual(parts)
  })

  it('does not refuse a word-bounded rule whose match the next delta undoes (cat, then alog)', () => {
    const stream = policedStream()
    stream.push('a cat', 'alog')
    stream.pipeline.push({ type: 'part', part: end() })
    expect(stream.failures).toEqual([])
    expect(stream.received()).toBe('a catalog')
  })

  it('refuses a word-bounded match at the very end of the stream', () => {
    const stream = policedStream()
    stream.push('a ca', 't')
    stream.pipeline.push({ type: 'part', part: end() })
    expect(stream.failures.map((error) => (error as ContentPolicyError).rule)).toEqual(['cat'])
    expect(stream.received()).toBe('')
  })

  it('releases text as soon as more than the longest match follows it, and the held tail at the end', () => {
    const stream = policedStream()
    stream.push('first part. ', 'x'.repeat(PHRASE.length - 1))
    // The first part is held: a match of up to 19 characters could still begin in it.
    expect(stream.received()).toBe('')
    stream.push('y')
    expect(stream.received()).toBe('first part. ')
    stream.pipeline.push({ type: 'part', part: end() })
    expect(stream.received()).toBe(`first part. ${'x'.repeat(PHRASE.length - 1)}y`)
    expect(stream.sink.parts.at(-1)).toEqual(end())
  })

  it('keeps parts without text in their place behind held text', () => {
    const stream = policedStream()
    const progress = { type: 'progress' as const, raw: '{"n":1}' }
    stream.push('held text')
    stream.pipeline.push({ type: 'part', part: progress })
    stream.push('more')
    stream.pipeline.push({ type: 'part', part: end() })
    expect(stream.sink.parts).toEqual([delta('held text'), progress, delta('more'), end()])
  })

  it('on an upstream failure, releases clean held text before the failure', () => {
    const stream = policedStream()
    const failure = new UpstreamUnavailableError()
    stream.push('clean text')
    stream.pipeline.fail(failure)
    expect(stream.sink.events).toEqual([
      { type: 'part', part: delta('clean text') },
      { type: 'failure', error: failure },
    ] satisfies RelayEvent[])
  })

  it('on an upstream failure, drops held text that breaks a rule at its end', () => {
    const stream = policedStream()
    const failure = new UpstreamUnavailableError()
    stream.push('the ', 'cat')
    stream.pipeline.fail(failure)
    expect(stream.sink.events).toEqual([{ type: 'failure', error: failure }])
  })
})
