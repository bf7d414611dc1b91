/** Decoding of text files: byte-order marks and Windows or old-Mac line endings are normalised away. */

export interface DecodeOptions {
  /** Honour a `<meta charset>` near the start (HTML saved by older tools is often windows-1252). */
  sniffHtmlCharset?: boolean
}

/**
 * Decodes a text file: by its byte-order mark (UTF-8 or UTF-16, as Windows tools write), else by its
 * `<meta charset>` when asked, else as UTF-8. Drops the mark and turns CRLF and lone CR into LF.
 */
export function decodeText(bytes: Uint8Array, options: DecodeOptions = {}): string {
  const encoding = byteOrderMark(bytes) ?? (options.sniffHtmlCharset ? declaredCharset(bytes) : undefined)
  // The decoder drops a byte-order mark itself (ignoreBOM defaults to false).
  const text = new TextDecoder(encoding ?? 'utf-8').decode(bytes)
  return (encoding === 'windows-1252' ? repairWindows1252(text) : text).replace(/\r\n?/g, '\n')
}

/**
 * Node 20.18.3 and later decode windows-1252 bytes 0x80-0x9F (euro sign, curly quotes, dashes...) as
 * Latin-1 control characters (nodejs/node#56542); this maps them to what they stand for, which is right
 * with or without that bug. The five bytes windows-1252 leaves undefined keep their own code.
 */
function repairWindows1252(text: string): string {
  return text.replace(
    /[\u0080-\u009f]/g,
    (character) => WINDOWS_1252_C1[character.charCodeAt(0) - 0x80] ?? character,
  )
}

const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178'

function byteOrderMark(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8'
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le'
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be'
  return undefined
}

/** The charset a `<meta>` declares in the first 1024 bytes (where the HTML standard looks), if Node knows it. */
function declaredCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024))
  const label = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1]
  if (!label) return undefined
  try {
    const encoding = new TextDecoder(label).encoding
    // The HTML standard reads a page that claims UTF-16 without a byte-order mark as UTF-8.
    return encoding.startsWith('utf-16') ? 'utf-8' : encoding
  } catch {
    return undefined
  }
}
