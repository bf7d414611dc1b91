/** Markdown files: kept as Markdown for the heading-aware chunker; the title comes from front-matter or `# `. */

export interface ParsedMarkdown {
  /** The front-matter `title:` or the first level-1 heading; undefined when there is neither. */
  title: string | undefined
  /** The Markdown without its front-matter. */
  text: string
}

const FRONT_MATTER = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/
const TITLE_LINE = /^title:[ \t]*(.*?)[ \t]*$/m
const LEVEL_ONE_HEADING = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/
const FENCE = /^ {0,3}(`{3,}|~{3,})/

export function parseMarkdown(markdown: string): ParsedMarkdown {
  const frontMatter = FRONT_MATTER.exec(markdown)
  const body = frontMatter ? markdown.slice(frontMatter[0].length) : markdown
  const title = frontMatterTitle(frontMatter?.[1]) ?? firstHeading(body)
  return { title, text: body.replace(/^\n+/, '').trimEnd() }
}

/** The `title:` of a YAML front-matter block, unquoted; a real YAML parser is not worth a dependency here. */
function frontMatterTitle(yaml: string | undefined): string | undefined {
  const value = yaml === undefined ? undefined : TITLE_LINE.exec(yaml)?.[1]
  // A block scalar (`title: >`) is rare enough to fall back to the heading instead.
  if (!value || value.startsWith('|') || value.startsWith('>')) return undefined
  const quote = value[0]
  if ((quote === "'" || quote === '"') && value.length >= 2 && value.endsWith(quote)) {
    const inner = value.slice(1, -1)
    return quote === "'" ? inner.replaceAll("''", "'") : inner.replaceAll('\\"', '"')
  }
  // Unquoted, a ` #` starts a YAML comment.
  return value.replace(/[ \t]+#.*$/, '')
}

/** The first ATX level-1 heading outside fenced code, where `# ` starts shell comments. */
function firstHeading(markdown: string): string | undefined {
  let fence: string | undefined
  for (const line of markdown.split('\n')) {
    const marker = FENCE.exec(line)?.[1]
    if (marker && (fence === undefined || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence === undefined ? marker : undefined
      continue
    }
    const heading = fence === undefined ? LEVEL_ONE_HEADING.exec(line)?.[1] : undefined
    if (heading) return heading
  }
  return undefined
}
