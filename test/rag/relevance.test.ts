import { describe, expect, it } from 'vitest'
import { queryTerms } from '../../src/rag/query-terms.js'
import {
  type Candidate,
  headingsOf,
  RARITY_POOL,
  scoreCandidates,
  vectorRelevance,
} from '../../src/rag/relevance.js'

function candidate(
  id: string,
  text: string,
  scores: { keyword?: number; vector?: number },
  title = id,
): Candidate {
  return {
    hit: {
      chunk: { id: `${id}:0`, documentId: id, index: 0, text, textHash: id, tokenCount: 10 },
      document: { id, title, source: '', metadata: {} },
      score: 0,
    },
    ...scores,
  }
}

const score = (question: string, candidates: Candidate[], unrelatedCosine = 0) =>
  scoreCandidates(queryTerms(question), candidates, { unrelatedCosine }).map((scored) => scored.score)

describe('calibrated relevance', () => {
  it('scores a passage by the share of the question it covers; the engine score plays no part', () => {
    const passages = [
      candidate('full', 'Sourdough bread rises with wild yeast.', { keyword: 2 }),
      candidate('part', 'Bread is baked in an oven.', { keyword: 40 }),
    ]
    const [full, part] = score('Why does sourdough bread rise?', passages)
    expect(full).toBeGreaterThan(0.6)
    expect(part).toBeLessThan(0.4)
    // The engine's scale does not matter: multiplied by 1000, the same scores.
    const scaled = passages.map((passage) => ({ ...passage, keyword: (passage.keyword ?? 0) * 1000 }))
    expect(score('Why does sourdough bread rise?', scaled)).toEqual([full, part])
  })

  it('measures rarity against a pool of fixed size, so a larger top_k does not change a score', () => {
    const pool = Array.from({ length: RARITY_POOL }, (_, index) =>
      candidate(`p${index}`, index % 5 === 0 ? 'Sourdough bread rises.' : 'Bread is baked.', { keyword: 1 }),
    )
    const twice = [...pool, ...pool.map((entry, index) => candidate(`q${index}`, entry.hit.chunk.text, {}))]
    const once = score('Why does sourdough bread rise?', pool)
    expect(score('Why does sourdough bread rise?', twice).slice(0, RARITY_POOL)).toEqual(once)
    // Under a full pool, a word is as rare as its count says: one match in three candidates is rare.
    const [few] = score('sourdough bread', [candidate('a', 'Sourdough bread.', {}), ...pool.slice(1, 3)])
    expect(few).toBeGreaterThan(0.6)
  })

  it('gives a passage sharing no content word with the question no keyword relevance', () => {
    expect(
      score('banana smoothie recipe', [candidate('tea', 'Green tea is steamed.', { keyword: 1 })]),
    ).toEqual([0])
  })

  it('counts a word the title or heading path holds, and words found together, above the same words apart', () => {
    const words = 'The server can speak http2 when asked; cleartext is possible too.'
    const [titled, untitled] = score('http2 cleartext', [
      candidate('a', words, { keyword: 1 }, 'HTTP2'),
      candidate('b', words, { keyword: 1 }, 'Server'),
    ])
    expect(titled).toBeGreaterThan(untitled as number)
    const [near, apart] = score('wild yeast', [
      candidate('near', 'Sourdough uses wild yeast.', { keyword: 1 }),
      candidate('apart', `Wild ${'grains and flour and water '.repeat(5)} with yeast.`, { keyword: 1 }),
    ])
    expect(near).toBeGreaterThan(apart as number)
  })

  it('counts cosine similarity from the model unrelated level, clamped to [0, 1]', () => {
    expect(vectorRelevance(0.2, 0.2)).toBe(0)
    expect(vectorRelevance(0.1, 0.2)).toBe(0)
    expect(vectorRelevance(0.6, 0.2)).toBeCloseTo(0.5)
    expect(vectorRelevance(1, 0.2)).toBe(1)
  })

  it('keeps the stronger of keyword and vector relevance in hybrid, adding part of the weaker', () => {
    const [vectorOnly] = score('banana smoothie', [candidate('x', 'Unrelated words.', { vector: 0.6 })], 0.2)
    expect(vectorOnly).toBeCloseTo(0.5)
    const [both] = score('sourdough', [candidate('x', 'Sourdough.', { keyword: 1, vector: 0.6 })], 0.2)
    const [keywordOnly] = score('sourdough', [candidate('x', 'Sourdough.', { keyword: 1 })], 0.2)
    expect(both).toBeGreaterThanOrEqual(keywordOnly as number)
    expect(both).toBeLessThanOrEqual(1)
  })

  it('reads the heading path the chunker puts first, and Markdown heading lines', () => {
    expect(headingsOf('Reference > HTTP/2\n\nFastify supports HTTP/2.')).toBe('Reference > HTTP/2')
    expect(headingsOf('## HTTP/2\n\nFastify supports it.\n### Plain or insecure\nText.')).toBe(
      '## HTTP/2\n### Plain or insecure',
    )
    expect(headingsOf('One long paragraph without headings.')).toBe('')
  })
})
