import { countTokens } from 'gpt-tokenizer'
import { describe, expect, it } from 'vitest'
import { chunkText } from '../../src/rag/chunker.js'

const options = { maxTokens: 60, overlapTokens: 15 }

const sentence = (index: number) =>
  `Sentence number ${index} talks about topic ${index % 7} in a few plain words.`

describe('chunker', () => {
  it('keeps a short text as one chunk, unchanged', () => {
    expect(chunkText('Just one short paragraph.', options)).toEqual([
      { text: 'Just one short paragraph.', tokenCount: countTokens('Just one short paragraph.') },
    ])
  })

  it('returns no chunk for blank text', () => {
    expect(chunkText(' \n\n \n', options)).toEqual([])
  })

  it('never exceeds maxTokens, and reports each chunk’s exact token count', () => {
    const text = [
      '# Guide',
      Array.from({ length: 40 }, (_, index) => sentence(index)).join(' '),
      '## Details',
      'word '.repeat(500),
      '```js',
      ...Array.from({ length: 30 }, (_, index) => `const value${index} = compute(${index}) // line ${index}`),
      '```',
      '日本語のテキストは空白なしで続きます。'.repeat(40),
      '🙂🚀'.repeat(200),
    ].join('\n\n')
    const chunks = chunkText(text, options)
    expect(chunks.length).toBeGreaterThan(10)
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBe(countTokens(chunk.text))
      expect(chunk.tokenCount).toBeLessThanOrEqual(options.maxTokens)
      expect(chunk.text).not.toContain('\uFFFD')
    }
  })

  it('keeps every word of the text, in order', () => {
    const text = Array.from({ length: 30 }, (_, index) => sentence(index)).join(' ')
    const chunks = chunkText(text, { maxTokens: 60, overlapTokens: 0 })
    expect(chunks.map((chunk) => chunk.text).join(' ')).toBe(text)
  })

  it('repeats the last sentences of a chunk at the start of the next', () => {
    const text = Array.from({ length: 20 }, (_, index) => sentence(index)).join(' ')
    const [first, second] = chunkText(text, options)
    const lastSentenceOfFirst = first?.text.split(/(?<=\.) /).at(-1) ?? ''
    expect(second?.text.startsWith(lastSentenceOfFirst)).toBe(true)
  })

  it('starts each chunk of a section with its heading path, and never mixes sections', () => {
    const text = [
      '# Solar power',
      '## Panels',
      Array.from({ length: 12 }, (_, index) => sentence(index)).join(' '),
      '## Inverters',
      'Inverters turn direct current into alternating current.',
    ].join('\n\n')
    const chunks = chunkText(text, options)
    const inverters = chunks.filter((chunk) => chunk.text.includes('Inverters turn'))
    expect(inverters).toHaveLength(1)
    expect(inverters[0]?.text).toBe('## Inverters\n\nInverters turn direct current into alternating current.')
    const continued = chunks.filter((chunk) => chunk.text.startsWith('Solar power > Panels\n\n'))
    expect(continued.length).toBeGreaterThan(0)
    expect(
      chunks.some((chunk) => chunk.text.includes('Panels') && chunk.text.includes('Inverters turn')),
    ).toBe(false)
  })

  it('keeps a code block that fits in one piece, and splits a long one only between lines', () => {
    const small = ['```python', 'def add(a, b):', '    return a + b', '```'].join('\n')
    expect(chunkText(`Intro.\n\n${small}`, { maxTokens: 200, overlapTokens: 0 })[0]?.text).toContain(small)
    const lines = Array.from({ length: 40 }, (_, index) => `x${index} = ${index} * 2`)
    const chunks = chunkText(['```', ...lines, '```'].join('\n'), { maxTokens: 40, overlapTokens: 0 })
    for (const line of lines) expect(chunks.some((chunk) => chunk.text.includes(line))).toBe(true)
  })

  it('cuts a huge paragraph with no sentence boundary at spaces', () => {
    const words = Array.from({ length: 400 }, (_, index) => `w${index}`)
    const chunks = chunkText(words.join(' '), { maxTokens: 50, overlapTokens: 0 })
    expect(chunks.length).toBeGreaterThan(5)
    expect(chunks.flatMap((chunk) => chunk.text.split(' '))).toEqual(words)
  })

  it('does not treat # inside code as a heading', () => {
    const text = ['```sh', '# install it', 'npm ci', '```', 'After the code.'].join('\n')
    const [chunk] = chunkText(text, { maxTokens: 200, overlapTokens: 0 })
    expect(chunk?.text).toBe(text.replace('```\nAfter', '```\n\nAfter'))
  })
})
