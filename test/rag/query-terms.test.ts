import { describe, expect, it } from 'vitest'
import { queryTerms, stem, words } from '../../src/rag/query-terms.js'

describe('query terms', () => {
  it('keeps the content words of a question, without stop words or repeats', () => {
    expect(
      queryTerms('How do I add a custom error handler to my routes, and which handler wins?').words,
    ).toEqual(['add', 'custom', 'error', 'handler', 'routes', 'wins'])
  })

  it('keeps every word of a question made of stop words only', () => {
    expect(queryTerms('How does it do that?').words).toEqual(['how', 'does', 'it', 'do', 'that'])
  })

  it('folds case and accents, and reads HTTP/2 as one word, as HTTP2 is written', () => {
    expect(words('Café CRÈME over HTTP/2 and HTTP2')).toEqual([
      'cafe',
      'creme',
      'over',
      'http2',
      'and',
      'http2',
    ])
  })

  it('stems plurals, -ing, -ed and a final e alike, so forms of one word meet', () => {
    expect(new Set(['decorate', 'decorates', 'decorating', 'decorated'].map(stem))).toEqual(
      new Set(['decorat']),
    )
    expect(new Set(['handler', 'handlers'].map(stem)).size).toBe(1)
    expect(new Set(['policy', 'policies'].map(stem)).size).toBe(1)
    expect(new Set(['stop', 'stopped', 'stopping'].map(stem)).size).toBe(1)
    expect(stem('class')).toBe('class')
    expect(stem('status')).toBe('status')
    expect(stem('http2')).toBe('http2')
  })
})
