/** HTML files: readable text with Markdown-style headings, without scripts, styles and navigation. */

import { compile, type FormatCallback, type HtmlToTextOptions } from 'html-to-text'

export interface ParsedHtml {
  /** The `<title>`, else the first `<h1>`; undefined when there is neither. */
  title: string | undefined
  /** Paragraphs separated by blank lines, headings as `#`..`######` lines. */
  text: string
}

/** Elements dropped with everything inside them. */
const SKIPPED = [
  ...['head', 'title', 'script', 'style', 'noscript', 'template', 'svg', 'iframe', 'img'], // not text
  ...['nav', 'aside'], // site boilerplate around the content
  ...['button', 'input', 'select', 'textarea'], // form controls
]

function headingFormatter(level: number): FormatCallback {
  return (element, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 })
    walk(element.children, builder)
    builder.closeBlock({
      trailingLineBreaks: 2,
      // An empty heading leaves no line rather than a bare `#`.
      blockTransform: (text) => (text.trim() ? `${'#'.repeat(level)} ${text.replace(/\s*\n\s*/g, ' ')}` : ''),
    })
  }
}

const LEVELS = [1, 2, 3, 4, 5, 6]

// html-to-text would cut a page past 16 MiB short, with a console warning; ingestion wants all of it.
const NO_LIMIT = { maxInputLength: 0 }

// Compiled once: html-to-text's selector matching is built from the options.
const toText = compile({
  wordwrap: false,
  limits: NO_LIMIT,
  formatters: Object.fromEntries(LEVELS.map((level) => [`heading${level}`, headingFormatter(level)])),
  selectors: [
    ...LEVELS.map((level) => ({ selector: `h${level}`, format: `heading${level}` })),
    ...SKIPPED.map((selector) => ({ selector, format: 'skip' })),
    // Link targets are noise for retrieval; Markdown bullets keep lists recognisable.
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'ul', options: { itemPrefix: '- ' } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
} satisfies HtmlToTextOptions)

/** The text of the first element matching `selector`, or an empty string. */
function firstText(selector: string) {
  return compile({
    wordwrap: false,
    limits: { ...NO_LIMIT, maxBaseElements: 1 },
    baseElements: { selectors: [selector], returnDomByDefault: false },
    selectors: [{ selector, format: 'inline' }],
  })
}

const titleText = firstText('title')
const firstHeadingText = firstText('h1')

export function parseHtml(html: string): ParsedHtml {
  const title = oneLine(titleText(html)) || oneLine(firstHeadingText(html)) || undefined
  return { title, text: tidy(toText(html)) }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** Trailing spaces off every line, at most one blank line in a row. */
function tidy(text: string): string {
  return text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}
