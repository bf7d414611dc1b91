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
describeWithChromium('the chat page, in Chromium, when the connection drops mid-stream', () => {
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
