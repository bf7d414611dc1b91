import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { PAGE_ROOT } from '../../src/plugins/page.js'
import { describeWithChromium, useChromium } from '../chromium.js'
import { type StaticSite, startStaticSite } from '../fakes/static-site.js'
import { waitFor } from '../wait-for.js'
import { ask, openPage, WITHIN } from './page-session.js'

/**
 * One answer of the scripted /stream: frames, then a clean end, or a connection cut once the page
 * shows `shown` (a browser drops what it received but did not read yet when the body fails), or a 204.
 */
type Answer =
  | { frames: string[]; ending: 'end' }
  | { frames: string[]; ending: 'cut'; shown: string }
  | { status: 204 }

const frame = (id: string, data: object) => `id: ${id}\ndata: ${JSON.stringify(data)}\n\n`

/**
 * The page's reader against a /stream that loses its connection mid-answer, which the real server only
 * does when something between them fails: the page beside a scripted /stream on one origin. The
 * resumption it speaks (ids `<stream-id>:<seq>`, Last-Event-ID, 204 when nothing follows) is the one
 * the server is getting; a server that cannot resume starts over, with ids of its own.
 */
describeWithChromium("the page's stream reader, in Chromium", () => {
  const chromium = useChromium()
  let site: StaticSite
  let answers: Answer[] = []
  const cuts: (() => void)[] = []
  const lastEventIds: (string | undefined)[] = []

  const streamHandler = (request: IncomingMessage, response: ServerResponse) => {
    lastEventIds.push(request.headers['last-event-id'] as string | undefined)
    request.resume()
    const answer = answers.shift() ?? { status: 204 }
    if ('status' in answer) return response.writeHead(answer.status).end()
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    response.write(`: stream open\n\n${answer.frames.join('')}`)
    // The connection closed in the middle of the chunked body: the browser's read fails (a network error).
    if (answer.ending === 'cut') cuts.push(() => response.socket?.destroy())
    else response.end()
  }

  beforeAll(async () => {
    site = await startStaticSite({ folder: PAGE_ROOT, handlers: { '/stream': streamHandler } })
  })
  afterAll(async () => {
    await site?.close()
  })
  beforeEach(() => {
    lastEventIds.length = 0
    cuts.length = 0
  })

  const run = async (script: Answer[]) => {
    answers = [...script]
    const { page } = await openPage(chromium.browser, `${site.origin}/`)
    await ask(page, '/stream', 'Hello')
    for (const answer of script) {
      if (!('ending' in answer) || answer.ending !== 'cut') continue
      await expect.poll(() => page.locator('#answer').textContent(), WITHIN).toBe(answer.shown)
      await waitFor(() => cuts.length > 0)
      cuts.shift()?.()
    }
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).not.toBe('Waiting for the answer…')
    return {
      status: await page.locator('#status').textContent(),
      text: await page.locator('#answer').textContent(),
    }
  }
  /**
   * What public/stream-reader.js yields for `text` arriving in chunks of `chunkBytes` bytes (so a line, or
   * a character's UTF-8 bytes, may be split between two reads).
   */
  const read = async (reader: 'sseFrames' | 'ndjsonObjects', text: string, chunkBytes: number) => {
    const { page } = await openPage(chromium.browser, `${site.origin}/`)
    return page.evaluate(`(async () => {
      const reader = (await import('/stream-reader.js'))[${JSON.stringify(reader)}]
      const bytes = new TextEncoder().encode(${JSON.stringify(text)})
      const body = new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += ${chunkBytes}) controller.enqueue(bytes.slice(at, at + ${chunkBytes}))
          controller.close()
        },
      })
      const items = []
      for await (const item of reader(body)) items.push(item)
      return items
    })()`)
  }

  it.each([1, 7, 4096])(
    'yields data frames only, with the last id, from chunks of %i bytes',
    async (bytes) => {
      const text =
        ': stream open\n\nretry: 3000\n\nid: s:1\nevent: message\ndata: {"content":"Hé 😀"}\n\n: ping\n\n' +
        'id: s:2\r\ndata: {"content":\r\ndata: " two lines"}\r\n\r\ndata: {"done":true}\n\n'
      expect(await read('sseFrames', text, bytes)).toEqual([
        { id: 's:1', data: { content: 'Hé 😀' } },
        { id: 's:2', data: { content: ' two lines' } },
        { id: 's:2', data: { done: true } },
      ])
    },
  )

  it.each([1, 4096])(
    'yields each NDJSON line parsed, the last one without its newline, from chunks of %i bytes',
    async (bytes) => {
      const text =
        '{"response":"Hé","done":false}\n\n{"response":"😀","done":false}\r\n{"response":"","done":true}'
      expect(await read('ndjsonObjects', text, bytes)).toEqual([
        { response: 'Hé', done: false },
        { response: '😀', done: false },
        { response: '', done: true },
      ])
    },
  )

  const firstPart = [frame('s1:1', { content: 'Hello' }), frame('s1:2', { content: ' wor' })]

  it('asks again once with Last-Event-ID and appends what the resumed stream sends', async () => {
    const result = await run([
      { frames: firstPart, ending: 'cut', shown: 'Hello wor' },
      { frames: [frame('s1:3', { content: 'ld' }), frame('s1:4', { done: true })], ending: 'end' },
    ])
    expect(result).toEqual({ status: 'Done.', text: 'Hello world' })
    expect(lastEventIds).toEqual([undefined, 's1:2'])
  })

  it('takes a 204 to the resumption as the end of the answer', async () => {
    const result = await run([{ frames: firstPart, ending: 'cut', shown: 'Hello wor' }, { status: 204 }])
    expect(result).toEqual({ status: 'Done.', text: 'Hello wor' })
    expect(lastEventIds).toEqual([undefined, 's1:2'])
  })

  it('replaces the partial answer when the server starts over instead of resuming', async () => {
    const result = await run([
      {
        frames: [frame('1', { content: 'Hello' }), frame('2', { content: ' wor' })],
        ending: 'cut',
        shown: 'Hello wor',
      },
      { frames: [frame('1', { content: 'Hello world' }), frame('2', { done: true })], ending: 'end' },
    ])
    expect(result).toEqual({ status: 'Done.', text: 'Hello world' })
    expect(lastEventIds).toEqual([undefined, '2'])
  })

  it('says the connection was lost when the second attempt is cut too, keeping the text', async () => {
    const result = await run([
      { frames: firstPart, ending: 'cut', shown: 'Hello wor' },
      { frames: [frame('s1:3', { content: 'l' })], ending: 'cut', shown: 'Hello worl' },
    ])
    expect(result).toEqual({
      status: 'The connection was lost before the answer finished.',
      text: 'Hello worl',
    })
    expect(lastEventIds).toEqual([undefined, 's1:2'])
  })

  it('takes a stream that ends without its done frame for a dropped one, and asks again', async () => {
    const result = await run([
      { frames: firstPart, ending: 'end' },
      { frames: [frame('s1:3', { content: 'ld' }), frame('s1:4', { done: true })], ending: 'end' },
    ])
    expect(result).toEqual({ status: 'Done.', text: 'Hello world' })
    expect(lastEventIds).toEqual([undefined, 's1:2'])
  })
})
