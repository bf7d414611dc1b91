import { countTokens } from 'gpt-tokenizer'
import { joinedTokens, type Measured, measure, TextTokens } from './joined-tokens.js'

export interface ChunkingOptions {
  /** Largest chunk, in tokens (o200k, the GPT-4o/GPT-5 encoding). */
  maxTokens: number
  /** Tokens of the previous chunk repeated at the start of the next, in whole sentences. */
  overlapTokens: number
}

export interface TextChunk {
  /** The chunk as it is embedded and searched: its heading path first, then the text. */
  text: string
  tokenCount: number
}

/** One unit the packer moves whole: a sentence, a code line, a heading line, or a hard-split slice. */
interface Piece {
  text: string
  tokens: number
  /** Its tokens and the words at its ends, to count a chunk without encoding it again. */
  measured: Measured
  /** Headings above this piece, outermost first. */
  headings: string[]
  /** Whether a blank line (rather than a space) separates it from the previous piece. */
  startsBlock: boolean
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/
const FENCE = /^\s*(```|~~~)/
const WHITE_SPACE = /\s/
const sentences = new Intl.Segmenter('en', { granularity: 'sentence' })

/**
 * Splits text along its structure: Markdown headings start sections, blank lines end paragraphs,
 * fenced code stays together when it fits, long paragraphs split into sentences, and only a piece
 * longer than a whole chunk is cut by tokens. Pieces are packed greedily up to `maxTokens`, each
 * chunk starting with its heading path and the last sentences of the previous chunk.
 */
export function chunkText(text: string, options: ChunkingOptions): TextChunk[] {
  const budget = Math.max(16, options.maxTokens)
  const tokens = new TokenCounter()
  const pieces = toPieces(text.replace(/\r\n?/g, '\n'), budget, tokens)
  const chunks: TextChunk[] = []
  /** The chunk being packed; its first `carried` pieces repeat the end of the previous chunk. */
  let current: Piece[] = []
  let carried = 0
  let currentTokens = 0

  const emit = () => {
    // Token counts do not add up exactly across piece boundaries: count the real text (only the words
    // at the joins are encoded again), and move trailing pieces on to the next chunk until it fits.
    let take = current.length
    let chunkTokens = tokensOfChunk(current, tokens)
    while (take > carried + 1 && chunkTokens > budget) {
      take--
      chunkTokens = tokensOfChunk(current.slice(0, take), tokens)
    }
    chunks.push({ text: render(current.slice(0, take)), tokenCount: chunkTokens })
    const emitted = current.slice(0, take)
    const rest = current.slice(take)
    const next = rest[0]?.headings
    // Carry whole trailing sentences of the same section forward, up to the overlap budget.
    const overlap: Piece[] = []
    let overlapTokens = 0
    for (let index = emitted.length - 1; index >= 0; index--) {
      const piece = emitted[index] as Piece
      if (overlapTokens + piece.tokens > options.overlapTokens || HEADING.test(piece.text)) break
      if (next && !sameHeadings(piece.headings, next)) break
      overlap.unshift(piece)
      overlapTokens += piece.tokens
    }
    current = [...overlap, ...rest]
    carried = overlap.length
    currentTokens = current.reduce((sum, piece) => sum + piece.tokens, 0)
  }

  for (const piece of pieces) {
    const headingTokens = tokens.ofHeadings(piece.headings)
    const sameSection = () => current.length === 0 || sameHeadings(current[0]?.headings ?? [], piece.headings)
    const fits = () => currentTokens + piece.tokens + headingTokens <= budget
    while (current.length > carried && (!sameSection() || !fits())) emit()
    // Only overlap is left: it never crosses into another section, nor pushes a chunk over the budget.
    if (!sameSection() || !fits()) {
      current = []
      carried = 0
      currentTokens = 0
    }
    current.push(piece)
    currentTokens += piece.tokens
  }
  while (current.length > carried) emit()
  return chunks
}

function render(pieces: Piece[]): string {
  const body = joinPieces(pieces)
  return hasPathLine(pieces) ? `${pieces[0]?.headings.join(' > ')}\n\n${body}` : body
}

/** A chunk opens with its heading path unless it opens with a heading line. */
function hasPathLine(pieces: Piece[]): boolean {
  const first = pieces[0]
  return first !== undefined && first.headings.length > 0 && !first.text.startsWith('#')
}

/** countTokens(render(pieces)), from the pieces' counts. */
function tokensOfChunk(pieces: Piece[], tokens: TokenCounter): number {
  const parts = pieces.map((piece) => ({ measured: piece.measured, separator: separatorOf(piece) }))
  if (hasPathLine(pieces)) {
    const path = tokens.measuredPath(pieces[0]?.headings ?? [])
    parts.unshift({ measured: path, separator: '' })
    parts[1] = { ...(parts[1] as (typeof parts)[number]), separator: '\n\n' }
  }
  return joinedTokens(parts)
}

/**
 * Counting tokens is most of the chunker's time (BPE over every character): each piece of text is
 * counted once, and the heading paths, which repeat for every piece of a section, once per path.
 */
class TokenCounter {
  readonly #headingPaths = new Map<string, Measured>()

  /** Tokens the heading path takes at the start of a chunk (`A > B` and a blank line); 0 without one. */
  ofHeadings(headings: string[]): number {
    return headings.length === 0 ? 0 : this.measuredPath(headings).tokens + 2
  }

  measuredPath(headings: string[]): Measured {
    const path = headings.join(' > ')
    let measured = this.#headingPaths.get(path)
    if (measured === undefined) {
      measured = measure(path)
      this.#headingPaths.set(path, measured)
    }
    return measured
  }
}

function toPieces(text: string, budget: number, tokens: TokenCounter): Piece[] {
  // Every piece is a slice of the text: counted from one pass over it (TextTokens), not one by one.
  const words = new TextTokens(text)
  const pieces: Piece[] = []
  const headings: string[] = []
  /** Where the open paragraph's lines start and end in `text`; start -1: none open. */
  let paragraph = { start: -1, end: -1 }
  let fence: { line: string; start: number }[] | undefined

  /** Adds text.slice(start, end), cut to fit when it alone is too long; `count` when already known. */
  const add = (start: number, end: number, startsBlock: boolean, count = words.count(start, end)) => {
    // Leave room for the heading path the chunk will start with.
    const room = Math.max(8, budget - tokens.ofHeadings(headings) - 4)
    const parts =
      count <= room
        ? [{ text: text.slice(start, end), count, measured: words.measure(start, end) }]
        : splitToBudget(text.slice(start, end), room).map((part) => ({
            ...part,
            measured: measure(part.text, part.count),
          }))
    for (const [index, part] of parts.entries()) {
      pieces.push({
        text: part.text,
        tokens: part.count,
        measured: part.measured,
        headings: [...headings],
        startsBlock: startsBlock && index === 0,
      })
    }
  }
  /** Adds text.slice(start, end) without its surrounding white space, if anything is left. */
  const addTrimmed = (start: number, end: number, startsBlock: boolean): boolean => {
    const [from, to] = trimmed(text, start, end)
    if (from === to) return false
    add(from, to, startsBlock)
    return true
  }
  const flushParagraph = () => {
    const [start, end] = trimmed(text, paragraph.start, paragraph.end)
    paragraph = { start: -1, end: -1 }
    if (start >= end) return
    const count = words.count(start, end)
    if (count <= budget) return add(start, end, true, count)
    let first = true
    for (const { segment, index } of sentences.segment(text.slice(start, end))) {
      if (addTrimmed(start + index, start + index + segment.length, first)) first = false
    }
  }
  const flushFence = (lines: { line: string; start: number }[]) => {
    const start = lines[0]?.start ?? 0
    const last = lines.at(-1) ?? { line: '', start }
    const count = words.count(start, last.start + last.line.length)
    if (count <= budget) return add(start, last.start + last.line.length, true, count)
    // A long code block splits between lines, never inside one unless a single line is too long.
    for (const [index, { line, start: lineStart }] of lines.entries()) {
      add(lineStart, lineStart + line.length, index === 0)
    }
  }

  let lineStart = 0
  for (const line of text.split('\n')) {
    const start = lineStart
    lineStart += line.length + 1
    if (fence) {
      fence.push({ line, start })
      if (FENCE.test(line)) {
        flushFence(fence)
        fence = undefined
      }
      continue
    }
    if (FENCE.test(line)) {
      flushParagraph()
      fence = [{ line, start }]
      continue
    }
    const heading = HEADING.exec(line)
    if (heading) {
      flushParagraph()
      const level = heading[1]?.length ?? 1
      headings.length = Math.min(headings.length, level - 1)
      addTrimmed(start, start + line.length, true)
      headings[level - 1] = (heading[2] ?? '').trim()
      // Keep the heading line with the section it opens.
      const last = pieces.at(-1)
      if (last) last.headings = [...headings]
      continue
    }
    if (line.trim() === '') flushParagraph()
    else paragraph = { start: paragraph.start === -1 ? start : paragraph.start, end: start + line.length }
  }
  if (fence) flushFence(fence)
  flushParagraph()
  return pieces
}

/** [start, end) without the white space at either end (as String.prototype.trim). */
function trimmed(text: string, start: number, end: number): [number, number] {
  let from = start
  let to = end
  while (from < to && WHITE_SPACE.test(text[from] as string)) from++
  while (to > from && WHITE_SPACE.test(text[to - 1] as string)) to--
  return [from, to]
}

/**
 * Cuts a piece that alone exceeds the budget (the last resort): the longest prefix that fits, found by
 * bisection over code points (slicing tokens could split a multi-byte character), ended at a space when
 * one is near.
 */
function splitToBudget(text: string, budget: number): { text: string; count: number }[] {
  const parts: { text: string; count: number }[] = []
  let rest = Array.from(text)
  while (rest.length > 0) {
    let low = 1
    let high = rest.length
    while (low < high) {
      const middle = Math.ceil((low + high) / 2)
      if (countTokens(rest.slice(0, middle).join('')) <= budget) low = middle
      else high = middle - 1
    }
    let cut = low
    if (cut < rest.length) {
      const space = rest.lastIndexOf(' ', cut)
      if (space > cut * 0.8) cut = space + 1
    }
    const part = rest.slice(0, cut).join('').trim()
    if (part !== '') parts.push({ text: part, count: countTokens(part) })
    rest = rest.slice(cut)
  }
  return parts
}

function joinPieces(pieces: Piece[]): string {
  let text = ''
  for (const [index, piece] of pieces.entries()) {
    if (index > 0) text += separatorOf(piece)
    text += piece.text
  }
  return text
}

const separatorOf = (piece: Piece) => (piece.startsBlock ? '\n\n' : ' ')

function sameHeadings(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((heading, index) => heading === b[index])
}
