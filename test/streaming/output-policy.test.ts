import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AppError, ContentPolicyError, UpstreamUnavailableError } from '../../src/errors.js'
import { ContentPolicy } from '../../src/streaming/content-policy.js'
import { normalizeText } from '../../src/streaming/normalize-text.js'
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

  it('does not see a word-bounded rule where the released text it keeps for context begins mid-word', () => {
    const stream = policedStream()
    // The last 32 released characters are the second delta: "cat" of "concat", no word boundary there.
    stream.push('con', 'cat is no word inside concat, ok', 'twenty more characters', ' and the end.')
    stream.pipeline.push({ type: 'part', part: end() })
    expect(stream.failures).toEqual([])
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

describe('outputPolicy, for any way a text is cut into deltas', () => {
  /** `text` cut at `cuts` (positions, taken modulo its length), in order: the deltas of one stream. */
  const cutAt = (text: string, cuts: number[]) => {
    const positions = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b)
    return [0, ...positions, text.length]
      .slice(1)
      .map((position, index, ends) => text.slice(index === 0 ? 0 : ends[index - 1], position))
      .filter((piece) => piece !== '')
  }
  const FULL_WIDTH_OFFSET = 0xfee0
  /** The phrase disguised letter by letter: upper case, full-width, or followed by a zero-width space. */
  const disguised = fc
    .array(fc.constantFrom('plain', 'upper', 'full-width', 'zero-width'), {
      minLength: PHRASE.length,
      maxLength: PHRASE.length,
    })
    .map((ways) =>
      [...PHRASE]
        .map((letter, index) => {
          if (letter === ' ') return letter
          if (ways[index] === 'upper') return letter.toUpperCase()
          if (ways[index] === 'full-width')
            return String.fromCharCode(letter.charCodeAt(0) + FULL_WIDTH_OFFSET)
          return ways[index] === 'zero-width' ? `${letter}\u200b` : letter
        })
        .join(''),
    )

  it('never sends any of the phrase, however disguised, and fails the stream', () => {
    fc.assert(
      fc.property(fc.string(), disguised, fc.string(), fc.array(fc.nat()), (before, phrase, after, cuts) => {
        const stream = policedStream()
        stream.push(...cutAt(`${before}${phrase}${after}`, cuts))
        stream.pipeline.push({ type: 'part', part: end() })
        expect(stream.failures).toHaveLength(1)
        expect(normalizeText(stream.received())).not.toContain(PHRASE)
        expect(stream.received().length).toBeLessThanOrEqual(before.length)
      }),
    )
  })

  it('relays a text that breaks no rule as exactly the same parts', () => {
    const clean = fc.string({ unit: 'grapheme' }).filter((text) => policy.find(text) === undefined)
    fc.assert(
      fc.property(clean, fc.array(fc.nat()), (text, cuts) => {
        const stream = policedStream()
        const deltas = cutAt(text, cuts)
        stream.push(...deltas)
        stream.pipeline.push({ type: 'part', part: end() })
        expect(stream.failures).toEqual([])
        expect(stream.sink.parts).toEqual([...deltas.map(delta), end()])
      }),
    )
  })
})
