import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFile, UnreadableFileError } from '../../src/rag/files.js'
import { openTestApp, testConfig } from '../helpers.js'

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'genai-encodings-'))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** Writes `bytes` to a new file named `name` in the scratch folder and returns its path. */
async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(scratch, name)
  await writeFile(path, bytes)
  return path
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the promise to reject')
}

/** Cyrillic in windows-1251, where А..я are the bytes 0xC0..0xFF in order. */
const windows1251 = (text: string) =>
  Buffer.from(
    [...text].map((character) => {
      const code = character.charCodeAt(0)
      return code >= 0x410 && code <= 0x44f ? code - 0x410 + 0xc0 : code
    }),
  )

const FRENCH =
  'Le café crème est servi à la terrasse. Déjà vu, naïve façade, garçon! Où est la gare? ' +
  'Il était une fois une princesse qui aimait les crêpes et le thé.'
const RUSSIAN =
  'Привет, мир! Это пример текста на русском языке, чтобы проверить определение кодировки. ' +
  'Москва столица России.'
const JAPANESE =
  'これは日本語のテキストです。文字コードの判定を確認するための例文です。東京は日本の首都です。'
const JAPANESE_SHIFT_JIS = Buffer.from(
  '82b182ea82cd93fa967b8cea82cc8365834c8358836782c582b7814295b68e9a8352815b836882cc94bb92e882f0' +
    '8a6d944682b782e982bd82df82cc97e195b682c582b78142938c8b9e82cd93fa967b82cc8ef1937382c582b78142',
  'hex',
)

/** A Korean paragraph three times, in ISO-2022-KR (Python's codec). */
const KOREAN_ISO_2022_KR = Buffer.from(
  '1b2429430e404c304d403a0f200e475131393e6e0f200e45583d3a462e4054344f34590f2e200e392e405a0f200e404e' +
    '445a35790f200e3028417638260f200e482e404e474f31620f200e402747510f200e3f39392e4054344f34590f2e200e' +
    '3c2d3f6f403a0f200e4751313940470f200e3c7635354054344f34590f2e200e404c304d403a0f200e475131393e6e0f' +
    '200e45583d3a462e4054344f34590f2e200e392e405a0f200e404e445a35790f200e3028417638260f200e482e404e47' +
    '4f31620f200e402747510f200e3f39392e4054344f34590f2e200e3c2d3f6f403a0f200e4751313940470f200e3c7635' +
    '354054344f34590f2e200e404c304d403a0f200e475131393e6e0f200e45583d3a462e4054344f34590f2e200e392e40' +
    '5a0f200e404e445a35790f200e3028417638260f200e482e404e474f31620f200e402747510f200e3f39392e4054344f' +
    '34590f2e200e3c2d3f6f403a0f200e4751313940470f200e3c7635354054344f34590f2e20',
  'hex',
)

describe('text files are decoded by their declared or detected encoding', () => {
  const cases: [string, string, Uint8Array, string, { encoding: string; evidence: string }][] = [
    [
      'a short Latin-1 file, too short to detect, by the windows-1252 fallback',
      'cafe.txt',
      Buffer.from('Café crème', 'latin1'),
      'Café crème',
      { encoding: 'windows-1252', evidence: 'fallback' },
    ],
    [
      'a Latin-1 paragraph, detected',
      'french.md',
      Buffer.from(FRENCH, 'latin1'),
      FRENCH,
      { encoding: 'windows-1252', evidence: 'detected' },
    ],
    [
      "windows-1252's own characters (curly quotes, euro sign)",
      'quotes.txt',
      Buffer.from([0x93, 0x48, 0x69, 0x94, 0x20, 0x80, 0x35]),
      '\u201cHi\u201d \u20ac5',
      { encoding: 'windows-1252', evidence: 'fallback' },
    ],
    [
      'Russian in windows-1251, detected',
      'russian.txt',
      windows1251(RUSSIAN),
      RUSSIAN,
      { encoding: 'windows-1251', evidence: 'detected' },
    ],
    [
      'Japanese in Shift_JIS, detected',
      'japanese.txt',
      JAPANESE_SHIFT_JIS,
      JAPANESE,
      { encoding: 'shift_jis', evidence: 'detected' },
    ],
    [
      'Japanese in ISO-2022-JP (7-bit, so valid UTF-8 too), by its escape sequences',
      'mail.txt',
      Buffer.from(
        '1b24422433246c244f467c4b5c386c244e2546252d253925482447243921234a383b7a2533213c2549244e483d446a' +
          '2472334e47272439246b243f2461244e4e634a382447243921231b2842',
        'hex',
      ),
      'これは日本語のテキストです。文字コードの判定を確認するための例文です。',
      { encoding: 'iso-2022-jp', evidence: 'detected' },
    ],
    [
      'a terminal log with colour escapes, as UTF-8',
      'build.txt',
      Buffer.from('\u001b[32mok\u001b[0m café', 'utf8'),
      '\u001b[32mok\u001b[0m café',
      { encoding: 'utf-8', evidence: 'valid UTF-8' },
    ],
    [
      'UTF-16 LE with a byte-order mark',
      'le.txt',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Café crème', 'utf16le')]),
      'Café crème',
      { encoding: 'utf-16le', evidence: 'byte-order mark' },
    ],
    [
      'UTF-16 BE with a byte-order mark',
      'be.md',
      Buffer.from([0xfe, 0xff, 0x00, 0x43, 0x00, 0x61, 0x00, 0x66, 0x00, 0xe9]),
      'Café',
      { encoding: 'utf-16be', evidence: 'byte-order mark' },
    ],
    [
      'UTF-8 without a mark',
      'utf8.txt',
      Buffer.from('Café crème 日本語', 'utf8'),
      'Café crème 日本語',
      { encoding: 'utf-8', evidence: 'valid UTF-8' },
    ],
    [
      'HTML that declares UTF-8 but holds Latin-1 bytes, by its bytes (no U+FFFD)',
      'mislabelled.html',
      Buffer.from('<meta charset="utf-8"><p>Café crème</p>', 'latin1'),
      'Café crème',
      { encoding: 'windows-1252', evidence: 'detected' },
    ],
    [
      'HTML by its declared charset, over what a detector would say',
      'declared.html',
      Buffer.from('<meta charset="iso-8859-1"><p>Café</p>', 'latin1'),
      'Café',
      { encoding: 'windows-1252', evidence: 'declared' },
    ],
  ]

  it.each(cases)('%s', async (_name, name, bytes, text, encoding) => {
    const parsed = await parseFile(await file(name, bytes))
    expect(parsed.text).toBe(text)
    expect(parsed.encoding).toEqual(encoding)
  })
})

describe('files that are not text are refused, naming the file', () => {
  const cases: [string, string, Uint8Array, RegExp][] = [
    [
      'a PNG image named .txt',
      'image.txt',
      Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100806000000', 'hex'),
      /binary data, not text/,
    ],
    [
      'bytes without NUL but full of control characters',
      'controls.md',
      Buffer.from(Array.from({ length: 400 }, (_, index) => 0x01 + (index % 8) * 0x11)),
      /binary data, not text/,
    ],
    [
      'Korean in ISO-2022-KR, which TextDecoder does not know',
      'korean.txt',
      KOREAN_ISO_2022_KR,
      /not UTF-8; it looks like ISO-2022-KR, which cannot be decoded here/,
    ],
    [
      'UTF-16 without a byte-order mark',
      'unmarked.txt',
      Buffer.from('Café crème', 'utf16le'),
      /UTF-16 text needs a byte-order mark/,
    ],
  ]

  it.each(cases)('%s', async (_name, name, bytes, reason) => {
    const path = await file(name, bytes)
    const error = await rejectionOf(parseFile(path))
    expect(error).toBeInstanceOf(UnreadableFileError)
    expect(error.message).toMatch(new RegExp(`^Cannot read ${path}: `))
    expect(error.message).toMatch(reason)
  })
})

describe('a Latin-1 file once ingested', () => {
  it('is stored as "Café crème" and found by a search for "café"', async () => {
    const parsed = await parseFile(
      await file('menu.txt', Buffer.from('Menu: Café crème, thé, crêpes', 'latin1')),
    )
    const { app } = await openTestApp(testConfig({ RAG_DATA_DIR: join(scratch, 'data') }))
    const ingested = await app.inject({
      method: 'POST',
      url: '/documents',
      payload: { documents: [{ id: 'menu', title: parsed.title, text: parsed.text }] },
    })
    expect(ingested.statusCode).toBe(200)
    const response = await app.inject({ method: 'POST', url: '/search', payload: { query: 'café' } })
    const results = response.json().results
    expect(results.map((result: { document: { id: string } }) => result.document.id)).toEqual(['menu'])
    expect(results[0].text).toContain('Café crème, thé, crêpes')
  })
})
