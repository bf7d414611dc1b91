/**
 * The file-reading half of ingestion: finds the supported files under the paths given to the CLI and
 * turns each into a plain document (title and text) for the chunker.
 */

import type { Dirent, Stats } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { basename, extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { DetectedEncoding } from './parsers/encoding.js'
import { parseHtml } from './parsers/html.js'
import { parseMarkdown } from './parsers/markdown.js'
import { decodeText } from './parsers/text.js'

export type FileFormat = 'markdown' | 'text' | 'html' | 'pdf'

/** One file turned into a plain document. */
export interface ParsedFile {
  /** The path relative to the working directory with `/` separators (absolute when outside it). */
  source: string
  /** The document's own title (front-matter, first `# ` heading, `<title>`, PDF Title), else the file name. */
  title: string
  /** Plain text; Markdown stays Markdown and headings of other formats become `#` lines. */
  text: string
  /** Which parser read it, from the file extension. */
  format: FileFormat
  /** How a text format was decoded (`utf-8`, or `windows-1252` detected...); undefined for PDF. */
  encoding?: DetectedEncoding
}

const FORMATS: Readonly<Record<string, FileFormat>> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
}

/** The extensions parseFile reads, lower-case; matched case-insensitively. */
export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(FORMATS)

/** The file's extension is not one parseFile reads; the file was not opened. */
export class UnsupportedFileError extends Error {
  override name = 'UnsupportedFileError'
  constructor(
    /** The file, as in ParsedFile.source. */
    readonly source: string,
    /** Its extension, lower-case with the dot; empty when it has none. */
    readonly extension: string,
  ) {
    super(
      `${source}: unsupported file type ${extension ? `'${extension}'` : '(no extension)'}; ` +
        `supported: ${SUPPORTED_EXTENSIONS.join(' ')}`,
    )
  }
}

/** The file could not be read, or its content could not be parsed (a corrupt PDF, for one). */
export class UnreadableFileError extends Error {
  override name = 'UnreadableFileError'
  constructor(
    /** The file, as in ParsedFile.source. */
    readonly source: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot read ${source}: ${reason}`, options)
  }
}

interface ParsedContent {
  title: string | undefined
  text: string
  encoding?: DetectedEncoding
}

/** The text of a text format and how it was decoded, read by `parse`. */
function decoded(bytes: Uint8Array, parse: (text: string) => Omit<ParsedContent, 'encoding'>, html = false) {
  const { text, ...encoding } = decodeText(bytes, { sniffHtmlCharset: html })
  return { ...parse(text), encoding }
}

const PARSERS: Readonly<Record<FileFormat, (bytes: Uint8Array) => Promise<ParsedContent>>> = {
  markdown: async (bytes) => decoded(bytes, parseMarkdown),
  text: async (bytes) => decoded(bytes, (text) => ({ title: undefined, text })),
  html: async (bytes) => decoded(bytes, parseHtml, true),
  // Loaded on first use: pdf.js is large, and most runs of the CLI may have no PDF at all.
  pdf: async (bytes) => (await import('./parsers/pdf.js')).parsePdf(bytes),
}

/** Reads one file with the parser for its extension; rejects with UnsupportedFileError or UnreadableFileError. */
export async function parseFile(path: string): Promise<ParsedFile> {
  const source = toSource(path)
  const extension = extname(path).toLowerCase()
  const format = FORMATS[extension]
  if (!format) throw new UnsupportedFileError(source, extension)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new UnreadableFileError(source, describeFileSystemError(error), { cause: error })
  }
  let content: ParsedContent
  try {
    content = await PARSERS[format](bytes)
  } catch (error) {
    throw new UnreadableFileError(source, error instanceof Error ? error.message : String(error), {
      cause: error,
    })
  }
  const title = content.title ?? basename(path, extname(path))
  return {
    source,
    title,
    text: content.text,
    format,
    ...(content.encoding && { encoding: content.encoding }),
  }
}

/**
 * Expands folders recursively into the supported files inside them, depth first in name order, skipping
 * hidden entries and node_modules. Files named explicitly are kept whatever their name or extension, so
 * that parseFile can report an unsupported one rather than it vanishing. Each file appears once (by its
 * real path, so symlinked copies too); symlinked folders are followed once, so loops end.
 * Rejects naming the path when a given path does not exist. Returns paths as in ParsedFile.source.
 */
export async function collectFiles(paths: string[]): Promise<string[]> {
  const files = new Map<string, string>()
  const folders = new Set<string>()

  async function add(path: string): Promise<void> {
    const real = await realpath(path)
    if (!files.has(real)) files.set(real, toSource(path))
  }

  async function walk(folder: string): Promise<void> {
    const real = await realpath(folder)
    if (folders.has(real)) return
    folders.add(real)
    let entries: Dirent[]
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch (error) {
      throw new Error(`Cannot read ${toSource(folder)}: ${describeFileSystemError(error)}`, { cause: error })
    }
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
      const path = join(folder, entry.name)
      const kind = await followLink(entry, path)
      if (kind?.isDirectory()) await walk(path)
      else if (kind?.isFile() && Object.hasOwn(FORMATS, extname(entry.name).toLowerCase())) await add(path)
    }
  }

  for (const path of paths) {
    let info: Stats
    try {
      info = await stat(path)
    } catch (error) {
      throw new Error(`Cannot read ${path}: ${describeFileSystemError(error)}`, { cause: error })
    }
    if (info.isDirectory()) await walk(path)
    else if (info.isFile()) await add(path)
    else throw new Error(`Cannot read ${path}: not a file or folder`)
  }
  return [...files.values()]
}

/** What a symlink points to; undefined for a broken one, which a folder walk skips. */
async function followLink(entry: Dirent, path: string): Promise<Dirent | Stats | undefined> {
  if (!entry.isSymbolicLink()) return entry
  return stat(path).catch(() => undefined)
}

function toSource(path: string): string {
  const absolute = resolve(path)
  const fromWorkingDirectory = relative(process.cwd(), absolute)
  const outside =
    fromWorkingDirectory === '' ||
    fromWorkingDirectory === '..' ||
    fromWorkingDirectory.startsWith(`..${sep}`) ||
    isAbsolute(fromWorkingDirectory)
  return (outside ? absolute : fromWorkingDirectory).split(sep).join('/')
}

const FILE_SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ELOOP: 'too many levels of symbolic links',
}

function describeFileSystemError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  return (code && FILE_SYSTEM_REASONS[code]) ?? (error instanceof Error ? error.message : String(error))
}
