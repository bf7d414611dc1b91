import { describe, expect, it } from 'vitest'
import { ContentPolicy } from '../../src/streaming/content-policy.js'

const policy = new ContentPolicy([
  { id: 'secrets', terms: ['Project Nightingale', 'internal only'] },
  { id: 'card', pattern: '\\b4[0-9]{15}\\b', maxMatchChars: 16 },
  { id: 'cat', pattern: '\\bcat\\b', maxMatchChars: 3 },
])

describe('ContentPolicy', () => {
  it('names the rule of a term found anywhere, whatever its case', () => {
    expect(policy.find('About PROJECT nightingale, nothing.')).toBe('secrets')
  })

  it('names the rule of a pattern that matches', () => {
    expect(policy.find('card 4111111111111111 ok')).toBe('card')
  })

  it('finds nothing in text that only resembles a rule', () => {
    expect(policy.find('Project Nightingal, project night gale, 41111111111111112, concatenate')).toBe(
      undefined,
    )
  })

  it('finds a term written with full-width letters and zero-width spaces', () => {
    expect(policy.find('ｉｎｔｅｒｎａｌ o\u200bn\u200bl\u200by')).toBe('secrets')
  })

  it('holds back as much as its longest rule can match, in normalised characters', () => {
    expect(policy.maxMatchChars).toBe('project nightingale'.length)
    expect(new ContentPolicy([{ id: 'long', pattern: 'x+', maxMatchChars: 64 }]).maxMatchChars).toBe(64)
  })

  it('with more text to come, does not count a match that reaches the end of the text yet', () => {
    expect(policy.findInNormalized('a cat', true)).toBe(undefined)
    expect(policy.findInNormalized('a cat', false)).toBe('cat')
    expect(policy.findInNormalized('a cat.', true)).toBe('cat')
  })

  it('with more text to come, still finds a term inside a pattern match that waits for it', () => {
    const nested = new ContentPolicy([
      { id: 'word', pattern: 'x[a-z]{1,20}', maxMatchChars: 21 },
      { id: 'term', terms: ['secret'] },
    ])
    expect(nested.findInNormalized('a xsecretly', true)).toBe('term')
  })

  it('escapes every character a term could mean as regular-expression syntax', () => {
    const literal = new ContentPolicy([{ id: 'literal', terms: ['a.b-(c)|[d]/e*'] }])
    expect(literal.find('xa.b-(c)|[d]/e*x')).toBe('literal')
    expect(literal.find('aXb-(c)|[d]/e')).toBe(undefined)
  })

  it('looks for matches from a position on, naming the rule that matched there', () => {
    const two = new ContentPolicy([
      { id: 'first', pattern: 'aa[0-9]', maxMatchChars: 3 },
      { id: 'second', pattern: 'bb[0-9]', maxMatchChars: 3 },
    ])
    expect(two.findInNormalized('aa1 bb2', false, 0)).toBe('first')
    expect(two.findInNormalized('aa1 bb2', false, 1)).toBe('second')
    expect(two.findInNormalized('aa1 bb2', false, 5)).toBe(undefined)
  })

  it('with no rules, matches nothing', () => {
    expect(new ContentPolicy([]).find('anything at all')).toBe(undefined)
  })
})
