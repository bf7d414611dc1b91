import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { serveTestApp, testConfig } from '../helpers.js'
import { RawConnection, type RawResponse } from '../raw-connection.js'
import { waitFor } from '../wait-for.js'
import { accept, contentType, encode, encoding, mutatedBody, printable } from './generators.js'
import { expectAlive, expectWellFormed, RUNS, TIMEOUT_MS, useFuzzedApp } from './harness.js'
import { OPERATIONS, rows } from './operations.js'

const context = useFuzzedApp()

/** Headers a client may add: request ids of every shape, encodings we do not speak, and anything else. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'x-request-id',
      'content-encoding',
      'accept-encoding',
      'accept-charset',
      'expect',
      'range',
      'origin',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  ),
  fc.oneof(
    fc.constantFrom(
      'gzip',
      'br',
      'identity',
      '100-continue',
      'bytes=0-1',
      'x'.repeat(4_000),
      '../../etc/passwd',
    ),
    printable(60),
  ),
  { maxKeys: 4 },
)

describe('generated headers never get a 5xx, and errors are {"detail"}', () => {
  it.each(rows(OPERATIONS.filter((operation) => operation.example !== undefined)))(
    '%s',
    async (_name, operation) => {
      await fc.assert(
        fc.asyncProperty(
          mutatedBody(operation),
          encoding,
          contentType,
          accept,
          extraHeaders,
          async (value, how, type, acceptHeader, extra) => {
            const headers: Record<string, string> = { ...extra }
            if (type !== undefined) headers['content-type'] = type
            if (acceptHeader !== undefined) headers.accept = acceptHeader
            const payload = encode(value, how)
            const response = await context.harness.app.inject({
              method: operation.method as 'POST',
              url: operation.path,
              headers,
              payload,
            })
            expectWellFormed(response, `${JSON.stringify(headers)} ${payload.toString('utf8')}`)
          },
        ),
        { numRuns: RUNS },
      )
      await expectAlive(context.harness)
    },
    TIMEOUT_MS,
  )
})

const body = '{"messages":[{"role":"user","content":"hi"}]}'
const length = Buffer.byteLength(body)
const head = (lines: string[]) => `${['POST /chat HTTP/1.1', 'host: x', ...lines].join('\r\n')}\r\n\r\n`

/** Each case: raw bytes on one connection, and the statuses answered, in order. */
const framingCases: [string, string, number[]][] = [
  [
    'a body shorter than its content-length: 408 when the request times out',
    head(['content-type: application/json', `content-length: ${length + 10}`]) + body,
    [408],
  ],
  [
    'a body longer than its content-length: the rest is a bad request (Node answers it alone, at once)',
    head(['content-type: application/json', `content-length: ${length - 5}`]) + body,
    [400],
  ],
  [
    'content-length 0 before a body: the body is a bad request (Node answers it alone, at once)',
    head(['content-type: application/json', 'content-length: 0']) + body,
    [400],
  ],
  [
    'a content-length that is not a number',
    head(['content-type: application/json', 'content-length: abc']) + body,
    [400],
  ],
  ['a negative content-length', head(['content-type: application/json', 'content-length: -1']) + body, [400]],
  [
    'two different content-lengths',
    head(['content-type: application/json', `content-length: ${length}`, 'content-length: 1']) + body,
    [400],
  ],
  [
    'content-length with chunked transfer-encoding',
    head(['content-type: application/json', `content-length: ${length}`, 'transfer-encoding: chunked']) +
      `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    [400],
  ],
  [
    'a chunk size that is not hexadecimal',
    `${head(['content-type: application/json', 'transfer-encoding: chunked'])}zz\r\n${body}\r\n0\r\n\r\n`,
    [400],
  ],
]

describe('framing that disagrees with the body, over a raw socket: an answer in {"detail"}, never a 5xx', () => {
  it.each(framingCases)('%s', async (_name, bytes, statuses) => {
    // One-second timeouts, so the case whose body never comes is answered quickly.
    const { base } = await serveTestApp(
      testConfig({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '1000' }),
    )
    const client = await RawConnection.open(base)
    await client.write(bytes)
    await waitFor(() => client.responses().length >= statuses.length || client.isClosed, { timeout: 10_000 })
    const responses: RawResponse[] = client.responses()
    expect(responses.map((response) => response.status)).toEqual(statuses)
    for (const response of responses) {
      expect(response.headers['content-type']).toMatch(/^application\/json\b/)
      expect(Object.keys(JSON.parse(response.body))).toEqual(['detail'])
    }
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
  })
})
