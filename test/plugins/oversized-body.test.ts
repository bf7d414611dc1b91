import { describe, expect, it } from 'vitest'
import { OVERSIZED_BODY_DISCARD_BYTES } from '../../src/plugins/oversized-body.js'
import { serveTestApp, testConfig } from '../helpers.js'
import { RawConnection } from '../raw-connection.js'
import { waitFor } from '../wait-for.js'

const LIMIT = 1_048_576
const TOO_LARGE = { detail: `Request body is larger than the limit of ${LIMIT} bytes` }
const FIVE_MB = 5 * 1024 * 1024
const PIECE = Buffer.alloc(64 * 1024, 'a')

const head = (framing: string) =>
  `POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`

/** Writes `bytes` of body, awaiting each write as a client that reads only afterwards does (httpx). */
async function sendBody(client: RawConnection, bytes: number, chunked: boolean) {
  for (let sent = 0; sent < bytes; sent += PIECE.length) {
    await client.write(
      chunked ? Buffer.concat([Buffer.from('10000\r\n'), PIECE, Buffer.from('\r\n')]) : PIECE,
    )
  }
  if (chunked) await client.write('0\r\n\r\n')
}

describe('a body over the limit', () => {
  it.each([
    ['content-length', false],
    ['chunked', true],
  ])(
    'sent whole before reading (%s), gets its 413 {"detail"}, and the connection serves the next request',
    async (_framing, chunked) => {
      const { base } = await serveTestApp(testConfig())
      const client = await RawConnection.open(base)
      await client.write(head(chunked ? 'transfer-encoding: chunked' : `content-length: ${FIVE_MB}`))
      await sendBody(client, FIVE_MB, chunked)
      await waitFor(() => client.responses().length === 1)
      const [answer] = client.responses()
      expect(answer?.status).toBe(413)
      expect(JSON.parse(answer?.body ?? '')).toEqual(TOO_LARGE)
      expect(answer?.headers.connection).toBeUndefined()

      await client.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\n')
      await waitFor(() => client.responses().length === 2)
      expect(client.responses()[1]).toMatchObject({ status: 200, body: '{"status":"ok"}' })
      expect(client.error).toBeUndefined()
    },
  )

  it('sent by fetch, is read as a 413 {"detail"}', async () => {
    const { base } = await serveTestApp(testConfig())
    const response = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(FIVE_MB, 'a'),
    })
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual(TOO_LARGE)
  })

  it('declared larger than the limit plus what the server discards, is answered at once and the connection closed', async () => {
    const { base } = await serveTestApp(testConfig())
    const client = await RawConnection.open(base)
    await client.write(head(`content-length: ${LIMIT + OVERSIZED_BODY_DISCARD_BYTES + 1}`))
    await client.closed
    const [answer] = client.responses()
    expect(answer).toMatchObject({ status: 413, headers: { connection: 'close' } })
    expect(JSON.parse(answer?.body ?? '')).toEqual(TOO_LARGE)
  })

  it('that goes on past what the server discards, is cut after its 413', async () => {
    const { base } = await serveTestApp(testConfig())
    const client = await RawConnection.open(base)
    await client.write(head('transfer-encoding: chunked'))
    await sendBody(client, LIMIT + OVERSIZED_BODY_DISCARD_BYTES + 2 * PIECE.length, true).catch(() => {})
    await client.closed
    expect(client.responses().map((response) => response.status)).toEqual([413])
  })

  it('that stops arriving, is closed after REQUEST_TIMEOUT_MS without a second answer', async () => {
    const { base } = await serveTestApp(testConfig({ HEADERS_TIMEOUT_MS: '200', REQUEST_TIMEOUT_MS: '300' }))
    const client = await RawConnection.open(base)
    await client.write(head(`content-length: ${FIVE_MB}`))
    await client.write(PIECE)
    await client.closed
    expect(client.responses().map((response) => response.status)).toEqual([413])
    expect(client.received.match(/HTTP\/1\.1 /g)).toHaveLength(1)
  })
})
