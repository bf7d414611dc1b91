import { expect, it } from 'vitest'
import { describeWithChromium, useChromium } from '../chromium.js'
import { ndjsonReply } from '../fakes/ollama.js'
import { errorReply, sseReply } from '../fakes/openai.js'
import { ask, openPage, useChatServer, WITHIN } from './page-session.js'

describeWithChromium('the chat page, in Chromium, when an answer fails', () => {
  const chromium = useChromium()
  const server = useChatServer({ RETRY_ATTEMPTS: '2' })
  const open = () => openPage(chromium.browser, `${server.base}/`)
  const status = (page: Awaited<ReturnType<typeof open>>['page']) => page.locator('#status').textContent()

  it('says in words that the answer was cut short when the upstream fails mid-stream', async () => {
    server.openai.reset(sseReply('openai-responses-stream.sse', { dropAfter: 7, delayMs: 5 }))
    const { page } = await open()
    await ask(page, '/stream', 'Hello')
    await expect
      .poll(() => page.locator('#status').textContent(), WITHIN)
      .toBe('The answer was cut short: The AI provider is unavailable.')
    expect(await page.locator('#status').getAttribute('class')).toBe('error')
    expect(await page.locator('#answer').textContent()).toMatch(/^Hi there!?$/)
  })

  it('says so when a content_filtered frame ends the stream, keeping the text before it', async () => {
    const { page } = await open()
    // The frame another branch adds to the server: the page must already understand it.
    await page.route('**/stream', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body: ': stream open\n\nid: s1:1\ndata: {"content":"Hel"}\n\nid: s1:2\ndata: {"error":"content_filtered"}\n\n',
      }),
    )
    await ask(page, '/stream', 'Hello')
    await expect
      .poll(() => page.locator('#status').textContent(), WITHIN)
      .toBe('The answer was stopped by the content filter.')
    expect(await page.locator('#answer').textContent()).toBe('Hel')
  })

  it("shows a 403 with the server's reason", async () => {
    const { page } = await open()
    const detail = "this API key's scope 'use' does not allow this request: it needs 'admin'"
    await page.route('**/stream', (route) =>
      route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ detail }) }),
    )
    await ask(page, '/stream', 'Hello')
    await expect
      .poll(() => page.locator('#status').textContent(), WITHIN)
      .toBe(`Not allowed: ${detail}. Check the API key's scope.`)
  })

  it('says the server could not answer when every attempt upstream fails (503)', async () => {
    server.openai.reset(errorReply(500))
    const { page } = await open()
    await ask(page, '/stream', 'Hello')
    await expect
      .poll(() => status(page), WITHIN)
      .toBe('The server could not answer (503: AI service unavailable). Try again later.')
    expect(server.openai.received).toHaveLength(2)
  })

  it("shows the server's reason for a 422", async () => {
    const { page } = await open()
    const model = 'x'.repeat(2000)
    const refused = await fetch(`${server.base}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Hello', model }),
    })
    const { detail } = (await refused.json()) as { detail: { msg: string }[] }
    expect(refused.status).toBe(422)
    await page.getByLabel('Model').fill(model)
    await ask(page, '/stream', 'Hello')
    await expect.poll(() => status(page), WITHIN).toBe(`The request was refused: ${detail[0]?.msg}`)
  })

  it('sends nothing for an empty prompt, and puts the focus back on it', async () => {
    const { page } = await open()
    await ask(page, '/stream', '   ')
    await expect.poll(() => status(page), WITHIN).toBe('Write a prompt first.')
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('prompt')
    expect(server.openai.received).toHaveLength(0)
  })

  it('says so when the answer was cut short by the output limit', async () => {
    server.openai.reset(sseReply('openai-responses-stream-incomplete.sse'))
    const { page } = await open()
    await ask(page, '/stream', 'Hello')
    await expect.poll(() => status(page), WITHIN).toBe('Done (cut short: max_output_tokens).')
  })

  it('says the server could not be reached when the request fails', async () => {
    const { page } = await open()
    await page.route('**/stream', (route) => route.abort('connectionrefused'))
    await ask(page, '/stream', 'Hello')
    await expect.poll(() => status(page), WITHIN).toBe('The server could not be reached.')
  })

  it('says it cannot read a frame that is not JSON', async () => {
    const { page } = await open()
    await page.route('**/stream', (route) =>
      route.fulfill({ status: 200, contentType: 'text/event-stream', body: 'data: <html>\n\n' }),
    )
    await ask(page, '/stream', 'Hello')
    await expect.poll(() => status(page), WITHIN).toBe('The server sent something this page cannot read.')
  })

  it("says /local-stream was cut short when Ollama's stream ends in an error line", async () => {
    server.ollama.enqueue(ndjsonReply('ollama-generate-stream-error.ndjson'))
    const { page } = await open()
    await ask(page, '/local-stream', 'Hello')
    await expect
      .poll(() => status(page), WITHIN)
      .toBe('The answer was cut short: The AI provider is unavailable.')
    expect(await page.locator('#answer').textContent()).toBe('The sky is')
  })
})
