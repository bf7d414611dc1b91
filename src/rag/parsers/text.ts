/** Decoding of text files: by their encoding (parsers/encoding.ts), with line endings normalised to LF. */

import { type DetectedEncoding, type DetectOptions, detectEncoding } from './encoding.js'

export interface DecodedText extends DetectedEncoding {
  /** The text, without a byte-order mark, CRLF and lone CR turned into LF. */
  text: string
}

/**
 * Decodes a text file by its byte-order mark, its `<meta charset>` when asked, as UTF-8 when it is, else
 * by the encoding detected. Throws an Error saying why when the bytes are not text.
 */
export function decodeText(bytes: Uint8Array, options: DetectOptions = {}): DecodedText {
  const detected = detectEncoding(bytes, options)
  // The decoder drops a byte-order mark itself (ignoreBOM defaults to false).
  const text = new TextDecoder(detected.encoding).decode(bytes)
  const repaired = detected.encoding === 'windows-1252' ? repairWindows1252(text) : text
  return { ...detected, text: repaired.replace(/\r\n?/g, '\n') }
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
