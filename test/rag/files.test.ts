import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { collectFiles, parseFile, UnreadableFileError, UnsupportedFileError } from '../../src/rag/files.js'
import { parseMarkdown } from '../../src/rag/parsers/markdown.js'

const FIXTURES = 'test/fixtures/ingest'

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the promise to reject')
}

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'genai-ingest-'))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** Writes files (path -> content) under a new folder in the scratch directory; returns the folder. */
async function tree(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const root = join(scratch, name)
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true })
    await writeFile(join(root, path), content)
  }
  return root
}

describe('collectFiles', () => {
  it('lists the supported files of a folder depth first in name order, skipping hidden ones', async () => {
    expect(await collectFiles([FIXTURES])).toEqual([
      `${FIXTURES}/broken.pdf`,
      `${FIXTURES}/guide.md`,
      `${FIXTURES}/guide.pdf`,
      `${FIXTURES}/nested/chapter.MD`,
      `${FIXTURES}/nested/deeper/appendix.htm`,
      `${FIXTURES}/no-title.pdf`,
      `${FIXTURES}/notes.txt`,
      `${FIXTURES}/page.html`,
      `${FIXTURES}/scanned.pdf`,
    ])
  })

  it('keeps the order of the given paths and lists each file once', async () => {
    const files = await collectFiles([
      `${FIXTURES}/page.html`,
      `${FIXTURES}/nested`,
      `./${FIXTURES}/page.html`,
    ])
    expect(files).toEqual([
      `${FIXTURES}/page.html`,
      `${FIXTURES}/nested/chapter.MD`,
      `${FIXTURES}/nested/deeper/appendix.htm`,
    ])
  })

  it('keeps a file named explicitly even when a folder walk would skip it', async () => {
    const files = await collectFiles([`${FIXTURES}/report.docx`, `${FIXTURES}/.hidden.md`])
    expect(files).toEqual([`${FIXTURES}/report.docx`, `${FIXTURES}/.hidden.md`])
  })

  it('gives paths relative to the working directory with / separators', async () => {
    expect(await collectFiles([resolve(FIXTURES, 'nested', 'chapter.MD')])).toEqual([
      `${FIXTURES}/nested/chapter.MD`,
    ])
  })

  it('rejects a path that does not exist, naming it', async () => {
    const error = await rejectionOf(collectFiles([FIXTURES, `${FIXTURES}/missing`]))
    expect(error.message).toBe(`Cannot read ${FIXTURES}/missing: no such file or folder`)
  })

  it('skips node_modules folders', async () => {
    const root = await tree('modules', { 'a.md': '# A', 'node_modules/package/readme.md': '# Readme' })
    expect(await collectFiles([root])).toEqual([join(root, 'a.md')])
  })

  it('ends on a symlink loop, walking each folder once', async () => {
    const root = await tree('loop', { 'a.md': '# A', 'sub/b.txt': 'b' })
    await symlink(root, join(root, 'sub', 'back-to-root'))
    expect(await collectFiles([root])).toEqual([join(root, 'a.md'), join(root, 'sub', 'b.txt')])
  })

  it('lists a file reached through a symlink once, under the first name met', async () => {
    const root = await tree('linked-file', { 'b.md': '# B' })
    await symlink(join(root, 'b.md'), join(root, 'a-link.md'))
    expect(await collectFiles([root])).toEqual([join(root, 'a-link.md')])
  })
})

describe('parseFile', () => {
  it('Markdown: the front-matter title, and the text kept as Markdown without the front-matter', async () => {
    expect(await parseFile(`${FIXTURES}/guide.md`)).toEqual({
      source: `${FIXTURES}/guide.md`,
      title: 'Ingestion: the guide',
      text: [
        'Some intro before any heading.',
        '',
        '# Getting started',
        '',
        'Install the CLI.',
        '',
        '```bash',
        '# not a heading: a shell comment',
        'npm run ingest -- docs',
        '```',
        '',
        '## Options',
        '',
        'Pass folders or files.',
      ].join('\n'),
      format: 'markdown',
      encoding: { encoding: 'utf-8', evidence: 'valid UTF-8' },
    })
  })

  it('Markdown: the first # heading is the title without front-matter; the extension matches in any case', async () => {
    expect(await parseFile(`${FIXTURES}/nested/chapter.MD`)).toEqual({
      source: `${FIXTURES}/nested/chapter.MD`,
      title: 'Chapter One',
      text: '# Chapter One\n\nText of the chapter.',
      format: 'markdown',
      encoding: { encoding: 'utf-8', evidence: 'valid UTF-8' },
    })
  })

  it('Markdown: the file name is the title when there is no heading', async () => {
    const root = await tree('untitled', { 'meeting-notes.markdown': 'Just notes.\n## Not level one\n' })
    expect(await parseFile(join(root, 'meeting-notes.markdown'))).toMatchObject({
      title: 'meeting-notes',
      text: 'Just notes.\n## Not level one',
    })
  })

  it('Markdown: a # line inside fenced code is not a heading', () => {
    expect(parseMarkdown('```sh\n# install\nnpm i\n```\n\n# Real title #\n').title).toBe('Real title')
  })

  it('Markdown: a quoted front-matter title is unquoted', () => {
    expect(parseMarkdown("---\ntitle: 'It''s here'\n---\n# Heading\n")).toEqual({
      title: "It's here",
      text: '# Heading',
    })
  })

  it('text: strips the byte-order mark and turns CRLF into LF; the title is the file name', async () => {
    expect(await parseFile(`${FIXTURES}/notes.txt`)).toEqual({
      source: `${FIXTURES}/notes.txt`,
      title: 'notes',
      text: 'First line\nSecond line\n\nLast line\n',
      format: 'text',
      encoding: { encoding: 'utf-8', evidence: 'byte-order mark' },
    })
  })

  it('text: decodes UTF-16 with a byte-order mark', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('caf\u00e9\r\n', 'utf16le')])
    const root = await tree('utf16', { 'windows.TXT': utf16 })
    expect(await parseFile(join(root, 'windows.TXT'))).toMatchObject({
      title: 'windows',
      text: 'caf\u00e9\n',
    })
  })

  it('HTML: the <title>, and headings as # lines and paragraphs without scripts, styles or navigation', async () => {
    expect(await parseFile(`${FIXTURES}/page.html`)).toEqual({
      source: `${FIXTURES}/page.html`,
      title: 'Fastify & RAG',
      text: [
        '# Retrieval Basics',
        '',
        'Retrieval finds the relevant chunks before the model answers.',
        '',
        '## Steps',
        '',
        '- Parse the files',
        '- Split them into chunks',
        '',
        '### Notes',
        '',
        'Entities like <tags> are decoded.',
      ].join('\n'),
      format: 'html',
      encoding: { encoding: 'utf-8', evidence: 'valid UTF-8' },
    })
  })

  it('HTML: the first <h1> is the title when there is no <title>', async () => {
    expect(await parseFile(`${FIXTURES}/nested/deeper/appendix.htm`)).toEqual({
      source: `${FIXTURES}/nested/deeper/appendix.htm`,
      title: 'Appendix',
      text: '# Appendix\n\nNested two folders deep.',
      format: 'html',
      encoding: { encoding: 'utf-8', evidence: 'valid UTF-8' },
    })
  })

  it('HTML: the file name is the title when there is neither, and the declared charset decodes it', async () => {
    // é and € as windows-1252 bytes, which are not valid UTF-8.
    const page = Buffer.concat([
      Buffer.from('<meta charset="windows-1252"><p>Caf'),
      Buffer.from([0xe9, 0x20, 0x80]),
      Buffer.from('5</p>'),
    ])
    const root = await tree('charset', { 'menu.htm': page })
    expect(await parseFile(join(root, 'menu.htm'))).toMatchObject({
      title: 'menu',
      text: 'Caf\u00e9 \u20ac5',
    })
  })

  it('PDF: the metadata Title, and each page as lines of text with pages separated by a blank line', async () => {
    expect(await parseFile(`${FIXTURES}/guide.pdf`)).toEqual({
      source: `${FIXTURES}/guide.pdf`,
      title: 'Ingestion Guide (Test)',
      text: [
        'Ingestion Guide',
        'The first page explains how files',
        'become plain documents.',
        '',
        'Second page',
        'Chunks are embedded after parsing.',
      ].join('\n'),
      format: 'pdf',
    })
  })

  it('PDF: the file name is the title when the PDF has none', async () => {
    expect(await parseFile(`${FIXTURES}/no-title.pdf`)).toEqual({
      source: `${FIXTURES}/no-title.pdf`,
      title: 'no-title',
      text: 'A page without a document title.',
      format: 'pdf',
    })
  })

  it('PDF: a corrupt file rejects with UnreadableFileError naming it', async () => {
    const error = await rejectionOf(parseFile(`${FIXTURES}/broken.pdf`))
    expect(error).toBeInstanceOf(UnreadableFileError)
    expect(error.message).toBe(`Cannot read ${FIXTURES}/broken.pdf: not a valid PDF (Invalid PDF structure.)`)
    expect((error as UnreadableFileError).source).toBe(`${FIXTURES}/broken.pdf`)
  })

  it('PDF: a PDF without text (a scan) rejects with UnreadableFileError', async () => {
    const error = await rejectionOf(parseFile(`${FIXTURES}/scanned.pdf`))
    expect(error).toBeInstanceOf(UnreadableFileError)
    expect(error.message).toBe(
      `Cannot read ${FIXTURES}/scanned.pdf: no extractable text (a scanned PDF needs OCR first)`,
    )
  })

  describe('console', () => {
    const output: unknown[][] = []
    afterEach(() => {
      vi.restoreAllMocks()
      output.length = 0
    })

    it('PDF: nothing is printed for a valid PDF or a damaged one', async () => {
      for (const method of ['log', 'info', 'warn', 'error'] as const) {
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => output.push(args))
      }
      await parseFile(`${FIXTURES}/guide.pdf`)
      await rejectionOf(parseFile(`${FIXTURES}/broken.pdf`))
      expect(output).toEqual([])
    })
  })

  it('an unsupported extension rejects with UnsupportedFileError, without reading the file', async () => {
    const error = await rejectionOf(parseFile(`${FIXTURES}/missing.docx`))
    expect(error).toBeInstanceOf(UnsupportedFileError)
    expect((error as UnsupportedFileError).extension).toBe('.docx')
    expect(error.message).toBe(
      `${FIXTURES}/missing.docx: unsupported file type '.docx'; supported: .md .markdown .txt .text .html .htm .pdf`,
    )
  })

  it('an unsupported file rejects with UnsupportedFileError naming it', async () => {
    const error = await rejectionOf(parseFile(`${FIXTURES}/report.docx`))
    expect(error).toBeInstanceOf(UnsupportedFileError)
    expect((error as UnsupportedFileError).source).toBe(`${FIXTURES}/report.docx`)
  })

  it('a missing file rejects with UnreadableFileError naming it', async () => {
    const error = await rejectionOf(parseFile(`${FIXTURES}/missing.md`))
    expect(error).toBeInstanceOf(UnreadableFileError)
    expect(error.message).toBe(`Cannot read ${FIXTURES}/missing.md: no such file or folder`)
  })
})
