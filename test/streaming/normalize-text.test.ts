import { describe, expect, it } from 'vitest'
import { normalizeText } from '../../src/streaming/normalize-text.js'

describe('normalizeText', () => {
  it('folds ASCII to lower case', () => {
    expect(normalizeText('Secret PLAN')).toBe('secret plan')
  })

  it('turns full-width letters into ASCII (NFKC)', () => {
    expect(normalizeText('ＳＥＣＲＥＴ')).toBe('secret')
  })

  it('removes combining marks, precomposed or not', () => {
    expect(normalizeText('Sécrèt')).toBe('secret')
    expect(normalizeText('Se\u0301cret')).toBe('secret')
  })

  it('removes zero-width and other format characters', () => {
    expect(normalizeText('s\u200be\u200cc\u200dr\u2060e\ufefft\u00ad')).toBe('secret')
  })

  it('counts invisible characters as nothing and expands a compatibility ligature to two letters', () => {
    expect(normalizeText('a\u200bb\u0301ﬁ')).toHaveLength(4)
  })

  it('expands compatibility ligatures', () => {
    expect(normalizeText('ﬁle')).toBe('file')
  })

  it('drops the dot that lower-casing a dotted capital I adds', () => {
    expect(normalizeText('İstanbul')).toBe('istanbul')
  })
})
