import fc from 'fast-check'
import { countTokens } from 'gpt-tokenizer'
import { describe, expect, it } from 'vitest'
import { joinedTokens, measure, TextTokens } from '../../src/rag/joined-tokens.js'

/**
 * Fragments chosen to meet at the joins in every way o200k's word split cares about: letters of each
 * case, digit runs, punctuation runs (which take following line breaks and slashes), apostrophe
 * suffixes, spaces, tabs, line breaks, marks, scripts without spaces, and characters beyond the BMP.
 */
const FRAGMENTS = [
  'word',
  'Word',
  'WORD',
  'élan',
  "it's",
  "'s",
  "'",
  '1234567',
  '42',
  '.',
  '...',
  '```',
  '/',
  '//',
  ')',
  '"',
  ' ',
  '  ',
  '\t',
  '\n',
  '\n\n',
  '\r\n',
  'e\u0301',
  '\u0301',
  '日本語',
  '。',
  '🙂',
  '𝐀',
  '-->',
  '> ',
  '#',
]
const text = fc
  .array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 12 })
  .map((parts) => parts.join(''))
const separator = fc.constantFrom('', ' ', '\n\n', '\n', ' > ', '\t')
const parts = fc.array(fc.record({ text, separator }), { minLength: 1, maxLength: 6 })

describe('joined token counts', () => {
  it('equal countTokens of the joined text, for any pieces and separators', () => {
    fc.assert(
      fc.property(parts, (pieces) => {
        const joined = pieces
          .map((piece, index) => (index === 0 ? '' : piece.separator) + piece.text)
          .join('')
        const measured = pieces.map((piece) => ({
          measured: measure(piece.text),
          separator: piece.separator,
        }))
        expect(joinedTokens(measured)).toBe(countTokens(joined))
      }),
      { numRuns: 3_000 },
    )
  })

  it('count any slice of a text as countTokens counts the slice alone', () => {
    const document = fc
      .array(fc.record({ text, separator }), { minLength: 1, maxLength: 8 })
      .map((pieces) => pieces.map((piece) => piece.separator + piece.text).join(''))
    const sliced = document.chain((whole) =>
      fc.tuple(fc.constant(whole), fc.nat(whole.length), fc.nat(whole.length)),
    )
    fc.assert(
      fc.property(sliced, ([whole, a, b]) => {
        const [start, end] = a <= b ? [a, b] : [b, a]
        const slice = whole.slice(start, end)
        const measured = new TextTokens(whole).measure(start, end)
        expect(measured.tokens).toBe(countTokens(slice))
        expect(measured.text).toBe(slice)
        expect(measured.headTokens).toBe(countTokens(measured.head))
        expect(measured.tailTokens).toBe(countTokens(measured.tail))
      }),
      { numRuns: 3_000 },
    )
  })

  it('counts a text holding a special token slice by slice, refusing the token as countTokens does', () => {
    const whole = 'Before <|endoftext|> after, and more words.'
    const tokens = new TextTokens(whole)
    expect(tokens.count(0, 6)).toBe(countTokens('Before'))
    expect(() => tokens.count(0, whole.length)).toThrow(/special token/)
  })

  it('equal countTokens on prose joined by spaces and blank lines', () => {
    const sentences = [
      'Fastify is a web framework.',
      'It is fast: 76,000 requests/s.',
      '## Routes',
      '```js\nfastify.get("/", handler)\n```',
      "Don't block the event loop!",
    ]
    const pieces = sentences.map((sentence, index) => ({
      measured: measure(sentence),
      separator: index % 2 === 0 ? ' ' : '\n\n',
    }))
    const joined = sentences.map(
      (sentence, index) => (index === 0 ? '' : pieces[index]?.separator) + sentence,
    )
    expect(joinedTokens(pieces)).toBe(countTokens(joined.join('')))
  })

  it('joins a piece without a cut inside whole, and keeps a given count', () => {
    const word = measure('single')
    expect(word).toMatchObject({ atomic: true, head: 'single', tail: 'single' })
    expect(measure('two words', 7).tokens).toBe(7)
    expect(measure('two words here')).toMatchObject({ atomic: false, head: 'two', tail: ' here' })
  })
})
