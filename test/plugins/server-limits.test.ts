import { describe, expect, it } from 'vitest'
import { fixtureReply } from '../fakes/openai.js'
import type { UpstreamReply } from '../fakes/upstream.js'
import { serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { RawConnection } from '../raw-connection.js'
import { waitFor } from '../wait-for.js'

const fake = useFakeOpenAI()

const TIMEOUT_DETAIL =
  'Request Timeout: the headers must arrive within 1000 ms and the whole request within 2000 ms'

/** Timeouts long enough that a request on another connection is served first however busy the machine. */
const slowClientEnvironment = { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' }

/** Events in the order they happened. */
function journal() {
  const events: string[] = []
  return { events, note: (event: string) => events.push(event) }
}

describe('slow clients', () => {
  it.each([
    [
      'sends its headers and half its body',
      'POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"messa',
    ],
    ['never finishes its headers', 'POST /chat HTTP/1.1\r\nhost: x\r\ncontent-ty'],
    ['sends nothing at all', ''],
  ])(
    'a client that %s is answered 408 and closed, while /health is served on another connection',
    async (_name, partial) => {
      const { base } = await serveTestApp(
        testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...slowClientEnvironment }),
      )
      const { events, note } = journal()
      const slow = await RawConnection.open(base)
      if (partial) await slow.write(partial)
      void slow.closed.then(() => note('slow client closed'))
      const health = await fetch(`${base}/health`)
      note(`health ${health.status}`)
      await slow.closed
      expect(events).toEqual(['health 200', 'slow client closed'])
      expect(slow.responses()).toEqual([
        {
          status: 408,
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(JSON.stringify({ detail: TIMEOUT_DETAIL }))),
            connection: 'close',
          },
          body: JSON.stringify({ detail: TIMEOUT_DETAIL }),
        },
      ])
    },
  )

  it('the request timeout does not bound the answer: a /chat whose upstream takes longer still gets its 200', async () => {
    fake.upstream.enqueue({ ...fixtureReply('openai-response'), delayMs: 1_000 } as UpstreamReply)
    const { base } = await serveTestApp(
      testConfig({
        OPENAI_BASE_URL: fake.upstream.url,
        HEADERS_TIMEOUT_MS: '100',
        REQUEST_TIMEOUT_MS: '100',
      }),
    )
    const response = await fetch(`${base}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(200)
  })
})

describe('MAX_CONNECTIONS', () => {
  it('refuses connections beyond the cap, before any answer, and keeps serving the open ones', async () => {
    const { app, base, logs } = await serveTestApp(testConfig({ MAX_CONNECTIONS: '2' }))
    const open = [await RawConnection.open(base), await RawConnection.open(base)]
    await waitFor(async () => (await connectionCount(app.server)) === 2)
    const refused = await RawConnection.open(base)
    await refused.closed
    expect(refused.received).toBe('')
    await waitFor(() => logs.some((line) => line.msg === 'MAX_CONNECTIONS reached: refusing new connections'))

    for (const connection of open) await connection.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\n')
    await waitFor(() => open.every((connection) => connection.responses().length === 1))
    for (const connection of open) {
      expect(connection.responses()[0]).toMatchObject({ status: 200, body: '{"status":"ok"}' })
    }
  })
})

function connectionCount(server: {
  getConnections(callback: (error: Error | null, count: number) => void): void
}) {
  return new Promise<number>((resolve, reject) => {
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)))
  })
}
