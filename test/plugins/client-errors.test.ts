import { describe, expect, it, onTestFinished } from 'vitest'
import { MAX_PARAM_LENGTH } from '../../src/plugins/server-limits.js'
import { documentIdSchema } from '../../src/schemas/documents.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { longSseReply, startFakeOpenAI } from '../fakes/openai.js'
import { openTestApp, serveTestApp, testConfig } from '../helpers.js'
import { RawConnection } from '../raw-connection.js'
import { waitFor } from '../wait-for.js'

/** The answer Node's parser errors get: a whole response in FastAPI's envelope, and the connection closed. */
function envelope(status: number, detail: string) {
  const body = JSON.stringify({ detail })
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    },
    body,
  }
}

describe('errors before a request exists, written to the socket', () => {
  it('headers over 16 KiB are a 431 {"detail"}', async () => {
    const { base } = await serveTestApp(testConfig())
    const client = await RawConnection.open(base)
    await client
      .write(`GET /health HTTP/1.1\r\nhost: x\r\nx-padding: ${'a'.repeat(17_000)}\r\n\r\n`)
      .catch(() => {})
    await client.closed
    expect(client.responses()).toEqual([
      envelope(431, 'Request Header Fields Too Large: the request line and headers must fit in 16384 bytes'),
    ])
  })

  it('bytes that are not HTTP are a 400 {"detail"} naming what is wrong', async () => {
    const { base } = await serveTestApp(testConfig())
    const client = await RawConnection.open(base)
    await client.write('HELLO there\r\n\r\n')
    await client.closed
    expect(client.responses()).toEqual([
      envelope(400, 'Bad Request: the request is not valid HTTP/1.1: Invalid method encountered'),
    ])
  })

  it('a malformed request after a stream has begun closes the connection without writing into the stream', async () => {
    const upstream = await startFakeOpenAI()
    onTestFinished(() => upstream.close())
    const { base } = await serveTestApp(testConfig({ OPENAI_BASE_URL: upstream.url }))
    upstream.reset(longSseReply(2_000, 'word ', { delayMs: 20 }))
    const client = await RawConnection.open(base)
    await client.write('GET /stream?prompt=hi HTTP/1.1\r\nhost: x\r\n\r\n')
    await waitFor(() => client.received.includes('data: {"content"'))
    await client.write('HELLO there\r\n\r\n')
    await client.closed
    expect(client.received.match(/HTTP\/1\.1 /g)).toEqual(['HTTP/1.1 '])
    expect(client.received).not.toContain('Bad Request')
  })
})

describe('errors of the router, before a route is chosen', () => {
  it('a path that is not valid percent-encoding is a 400 {"detail"}', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:9' }))
    const response = await app.inject({ method: 'GET', url: '/documents/%E0%A4%A' })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      detail: 'Bad Request: the URL path is not valid percent-encoded UTF-8',
    })
  })

  it('a path parameter longer than any document id the schema accepts is a 414 {"detail"}', async () => {
    const { app } = await openTestApp(testConfig(), { store: emptyDocumentStore() })
    const response = await app.inject({
      method: 'GET',
      url: `/documents/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`,
    })
    expect(response.statusCode).toBe(414)
    expect(response.json()).toEqual({
      detail: `URI Too Long: a path parameter may have at most ${MAX_PARAM_LENGTH} characters`,
    })
  })

  it('the longest document id the schema accepts, percent-encoded, reaches the route', async () => {
    const { app } = await openTestApp(testConfig(), { store: emptyDocumentStore() })
    // Three bytes of UTF-8 each, nine characters percent-encoded: the longest an accepted id can be.
    const id = '€'.repeat(documentIdSchema.maxLength ?? Number.POSITIVE_INFINITY)
    const response = await app.inject({ method: 'GET', url: `/documents/${encodeURIComponent(id)}` })
    expect(encodeURIComponent(id)).toHaveLength(MAX_PARAM_LENGTH)
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: `document '${id}' not found` })
  })
})
