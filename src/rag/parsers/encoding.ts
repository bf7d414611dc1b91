/**
 * Which character encoding a text file is in, decided in the order a browser would: a byte-order mark,
 * then what the file declares (HTML's `<meta charset>`), then valid UTF-8, then a guess from the bytes.
 */

import { isUtf8 } from 'node:buffer'
import { analyse } from 'chardet'

/** How the encoding was decided, for messages (the CLI shows a guess so a wrong one can be noticed). */
export type EncodingEvidence = 'byte-order mark' | 'declared' | 'valid UTF-8' | 'detected' | 'fallback'

export interface DetectedEncoding {
  /** The WHATWG name TextDecoder uses, e.g. `utf-8`, `windows-1252`, `shift_jis`. */
  encoding: string
  evidence: EncodingEvidence
}

export interface DetectOptions {
  /** Honour a `<meta charset>` near the start (HTML saved by older tools is often windows-1252). */
  sniffHtmlCharset?: boolean
}

/**
 * chardet's confidence (0-100) from which its guess is taken. Its single-byte guesses on a paragraph of
 * real text score 25-70 (Polish in ISO-8859-2: 26; French in Latin-1: 65; Russian in windows-1251: 70),
 * and its multi-byte ones 100; on a few words, or bytes that fit no language, it answers 10 or less
 * (`“Hi” €5` in windows-1252 came out as EUC-JP at 10). Below this the fallback decodes instead.
 */
const MIN_CONFIDENCE = 20

/**
 * Text that is not UTF-8 and that the detector cannot place: windows-1252, the encoding the WHATWG
 * standard gives unlabelled legacy text in Western locales. It decodes every byte, Latin-1 text included
 * (a short `Café crème` is too little for any detector).
 */
const FALLBACK = 'windows-1252'

/**
 * The file's encoding; throws an Error whose message says why when the bytes are not text (NUL bytes or
 * many control characters) or are in an encoding Node cannot decode.
 */
export function detectEncoding(bytes: Uint8Array, options: DetectOptions = {}): DetectedEncoding {
  const marked = byteOrderMark(bytes)
  if (marked) return { encoding: marked, evidence: 'byte-order mark' }
  if (looksBinary(bytes)) {
    throw new Error('binary data, not text (NUL or control bytes; UTF-16 text needs a byte-order mark)')
  }
  const declared = options.sniffHtmlCharset ? declaredCharset(bytes) : undefined
  // A page that declares UTF-8 but is not gets the guess below, not U+FFFD in place of its letters.
  if (declared && declared !== 'utf-8') return { encoding: declared, evidence: 'declared' }
  // ISO-2022 text is 7-bit, so valid UTF-8 too: its escape sequences give it away first.
  const iso2022 = bytes.includes(0x1b) ? iso2022Encoding(bytes) : undefined
  if (iso2022) return iso2022
  if (isUtf8(bytes)) return { encoding: 'utf-8', evidence: 'valid UTF-8' }
  const best = analyse(bytes)[0]
  if (!best || best.confidence < MIN_CONFIDENCE) return { encoding: FALLBACK, evidence: 'fallback' }
  return detected(best.name)
}

/** ISO-2022-JP, -KR or -CN when chardet sees one (it reads their escape sequences), else undefined. */
function iso2022Encoding(bytes: Uint8Array): DetectedEncoding | undefined {
  const best = analyse(bytes)[0]
  return best?.name.startsWith('ISO-2022') && best.confidence >= MIN_CONFIDENCE
    ? detected(best.name)
    : undefined
}

/** The encoding chardet named; throws when TextDecoder cannot decode it (ISO-2022-KR and -CN). */
function detected(name: string): DetectedEncoding {
  const encoding = decoderName(name)
  if (!encoding) throw new Error(`not UTF-8; it looks like ${name}, which cannot be decoded here`)
  return { encoding, evidence: 'detected' }
}

function byteOrderMark(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8'
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le'
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be'
  return undefined
}

/**
 * Control bytes that text does hold: tab, line feed, vertical tab, form feed, carriage return, and the
 * escape, shift-out and shift-in of the ISO-2022 encodings (so those are named below, not called binary).
 */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x1b])

/** The bytes looked at for control characters: enough to tell, cheap on a large file. */
const SAMPLE_BYTES = 65_536

/**
 * Git's test (a NUL byte) and Perl's (many control characters): no text encoding without a byte-order
 * mark puts a NUL in text, and a compressed or image file has ~12 % control bytes where text has none.
 */
function looksBinary(bytes: Uint8Array): boolean {
  if (bytes.indexOf(0) !== -1) return true
  const sample = bytes.subarray(0, SAMPLE_BYTES)
  let controls = 0
  for (const byte of sample) if (byte < 0x20 && !TEXT_CONTROLS.has(byte)) controls++
  return controls > sample.length / 100
}

/** The charset a `<meta>` declares in the first 1024 bytes (where the HTML standard looks), if Node knows it. */
function declaredCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024))
  const label = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1]
  const encoding = label ? decoderName(label) : undefined
  // The HTML standard reads a page that claims UTF-16 without a byte-order mark as UTF-8.
  return encoding?.startsWith('utf-16') ? 'utf-8' : encoding
}

/** TextDecoder's name for an encoding label (`ISO-8859-1` is `windows-1252`), or undefined if it has none. */
function decoderName(label: string): string | undefined {
  try {
    return new TextDecoder(label).encoding
  } catch {
    return undefined
  }
}
