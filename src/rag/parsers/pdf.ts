/**
 * PDF files, read with Mozilla's pdf.js (its legacy build is the one for Node). Everything runs in this
 * process: the "worker" is pdf.js's in-process fake, fonts and character maps are read from the package's
 * own folders, and nothing is fetched, evaluated or rendered.
 */

import { createRequire } from 'node:module'
import { dirname, join, sep } from 'node:path'
import { getDocument, type PDFDocumentProxy, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs'

export interface ParsedPdf {
  /** The document information Title, else the XMP dc:title; undefined when there is neither. */
  title: string | undefined
  /** The text of each page, pages separated by a blank line. */
  text: string
}

const packageFolder = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'))

const OPTIONS = {
  // Widths of the 14 standard fonts (Helvetica, Times...), which PDFs may use without embedding them.
  standardFontDataUrl: join(packageFolder, 'standard_fonts') + sep,
  // Character maps for CJK text.
  cMapUrl: join(packageFolder, 'cmaps') + sep,
  cMapPacked: true,
  disableFontFace: true,
  useSystemFonts: false,
  isEvalSupported: false,
  // Warnings about recoverable damage would be console noise for the CLI; real failures still reject.
  verbosity: VerbosityLevel.ERRORS,
}

/** Rejects with an Error whose message is safe to show (`not a valid PDF`, `password-protected`...). */
export async function parsePdf(bytes: Uint8Array): Promise<ParsedPdf> {
  // A copy: pdf.js detaches the buffer it is given, and refuses a Node Buffer.
  const loadingTask = getDocument({ ...OPTIONS, data: new Uint8Array(bytes) })
  let parsed: ParsedPdf
  try {
    const document = await loadingTask.promise
    const pages: string[] = []
    for (let number = 1; number <= document.numPages; number++) {
      const page = await document.getPage(number)
      pages.push(pageText(await page.getTextContent()))
      page.cleanup()
    }
    parsed = { title: await title(document), text: pages.filter((page) => page !== '').join('\n\n') }
  } catch (error) {
    throw new Error(reason(error), { cause: error })
  } finally {
    await loadingTask.destroy()
  }
  if (parsed.text === '') throw new Error('no extractable text (a scanned PDF needs OCR first)')
  return parsed
}

type TextContent = Awaited<ReturnType<Awaited<ReturnType<PDFDocumentProxy['getPage']>>['getTextContent']>>

/** Joins a page's text runs, keeping the line breaks pdf.js infers and collapsing layout spaces. */
function pageText(content: TextContent): string {
  let text = ''
  for (const item of content.items) {
    if (!('str' in item)) continue
    text += item.str
    if (item.hasEOL) text += '\n'
  }
  return text
    .split('\n')
    .map((line) => line.replace(/[^\S\n]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

async function title(document: PDFDocumentProxy): Promise<string | undefined> {
  const { info, metadata } = await document.getMetadata()
  // `metadata` (XMP) is null at run time when the PDF has none, whatever its declared type says.
  return oneLine((info as { Title?: unknown }).Title) ?? oneLine(metadata?.get('dc:title'))
}

function oneLine(value: unknown): string | undefined {
  return typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() || undefined : undefined
}

/** A message for the CLI to show, from pdf.js's exception names. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.name === 'InvalidPDFException') return `not a valid PDF (${error.message})`
  if (error.name === 'PasswordException') return 'the PDF is password-protected'
  return error.message
}
