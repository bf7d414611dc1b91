import { describe, expect, it } from 'vitest'
import { sourcesOf } from '../../src/rag/prompt.js'
import type { RetrievedChunk } from '../../src/rag/retrieve.js'

function retrieved(id: string, text: string, score: number): RetrievedChunk {
  return {
    chunk: { id: `${id}:0`, documentId: id, index: 0, text, textHash: 'hash', tokenCount: 3 },
    document: { id, title: `Title of ${id}`, source: `docs/${id}.md`, metadata: {} },
    score,
  }
}

describe('sourcesOf', () => {
  it('numbers the passages from 1 in the order given, in the domain shape', () => {
    expect(
      sourcesOf([retrieved('bread', 'Sourdough rises.', 1), retrieved('tea', 'Tea steeps.', 0.5)]),
    ).toEqual([
      {
        n: 1,
        documentId: 'bread',
        chunkId: 'bread:0',
        title: 'Title of bread',
        source: 'docs/bread.md',
        score: 1,
        snippet: 'Sourdough rises.',
      },
      {
        n: 2,
        documentId: 'tea',
        chunkId: 'tea:0',
        title: 'Title of tea',
        source: 'docs/tea.md',
        score: 0.5,
        snippet: 'Tea steeps.',
      },
    ])
  })

  it('rounds the score to 4 decimals', () => {
    expect(sourcesOf([retrieved('bread', 'x', 0.123456)])[0]?.score).toBe(0.1235)
  })

  it('puts the snippet on one line and cuts it at 240 characters with an ellipsis', () => {
    const [source] = sourcesOf([retrieved('bread', `  first\n\nsecond\t${'y'.repeat(300)}`, 1)])
    expect(source?.snippet.startsWith('first second y')).toBe(true)
    expect(source?.snippet).toHaveLength(240)
    expect(source?.snippet.endsWith('…')).toBe(true)
  })
})
