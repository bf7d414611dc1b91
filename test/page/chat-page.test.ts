import { readFileSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { describeWithChromium, useChromium } from '../chromium.js'
import { longSseReply, sseReply } from '../fakes/openai.js'
import { waitFor } from '../wait-for.js'
import { ask, openPage, PHONE, useChatServer, WITHIN } from './page-session.js'

/** The ```js blocks of README.md's "Front end" section, in order: the fetch reader, then EventSource. */
function frontEndSnippets(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.slice(
    readme.indexOf('\n## Front end\n'),
    readme.indexOf('\n## Metrics and readiness\n'),
  )
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] as string)
}

/** Where the browser tests leave their screenshots (git-ignored). */
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'screenshots')

describeWithChromium('the chat page, in Chromium', () => {
  const chromium = useChromium()
  const server = useChatServer()
  const open = (viewport?: { width: number; height: number }) =>
    openPage(chromium.browser, `${server.base}/`, viewport)

  it('shows the first tokens while the upstream still drips, and the whole text at the end', async () => {
    const deltas = 8
    server.openai.reset(longSseReply(deltas, 'word ', { delayMs: 150 }))
    const { page } = await open()
    const chunksBefore = server.openai.chunksWritten
    const answer = page.locator('#answer')
    await ask(page, '/stream', 'Say word')

    await answer.getByText('word', { exact: false }).waitFor()
    const chunksAtFirstToken = server.openai.chunksWritten - chunksBefore
    const totalChunks = (longSseReply(deltas) as { chunks: string[] }).chunks.length
    expect(chunksAtFirstToken).toBeLessThan(totalChunks)
    expect(await answer.textContent()).not.toBe('word '.repeat(deltas))

    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
    expect(await answer.textContent()).toBe('word '.repeat(deltas))
    expect(server.openai.received.at(-1)?.json?.input).toEqual([{ role: 'user', content: 'Say word' }])
  })

  it('Stop aborts the request, and the fake upstream sees its connection closed', async () => {
    server.openai.reset(longSseReply(200, 'word ', { delayMs: 100 }))
    const { page } = await open()
    await ask(page, '/stream', 'Talk for long')
    await page.locator('#answer').getByText('word', { exact: false }).waitFor()

    await page.getByRole('button', { name: 'Stop' }).click()
    await waitFor(() => server.openai.received.at(-1)?.connectionClosed === true, { timeout: 10_000 })
    expect(await page.locator('#status').textContent()).toBe('Stopped.')
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true)
  })

  it('streams /local-stream from Ollama', async () => {
    const { page } = await open()
    await ask(page, '/local-stream', 'Hello')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
    // The recorded answer (test/fixtures/ollama-generate-stream.ndjson).
    expect(await page.locator('#answer').textContent()).toBe(
      'The sky is blue because of Rayleigh scattering.',
    )
    expect(server.ollama.received.at(-1)?.json).toMatchObject({ prompt: 'Hello', stream: true })
  })

  it('reads GET /stream with EventSource, closing it on the done frame', async () => {
    server.openai.reset(sseReply())
    const { page } = await open()
    await page.getByLabel('Use EventSource').check()
    const request = page.waitForRequest((candidate) => new URL(candidate.url()).pathname === '/stream')
    await ask(page, '/stream', 'Hello')
    expect((await request).method()).toBe('GET')
    expect(new URL((await request).url()).searchParams.get('prompt')).toBe('Hello')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
    // The recorded answer (test/fixtures/openai-responses-stream.sse).
    expect(await page.locator('#answer').textContent()).toBe('Hi there! How can I help you today?')
  })

  it('works from the keyboard: Ctrl+Enter sends, Escape stops, the focus ring shows', async () => {
    server.openai.reset(longSseReply(200, 'word ', { delayMs: 100 }))
    const { page } = await open()
    await page.getByLabel('Prompt').focus()
    await page.keyboard.type('Talk for long')
    await page.keyboard.press('Control+Enter')
    await page.locator('#answer').getByText('word', { exact: false }).waitFor()
    await page.keyboard.press('Escape')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Stopped.')

    await page.keyboard.press('Tab')
    // Expressions run in the page, as text: this project's types have no DOM.
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')
    expect(outline).toBe('solid')
    expect(await page.locator('#answer').getAttribute('aria-live')).toBe('polite')
  })

  it('fits a phone screen, and leaves screenshots at desktop and phone widths', async () => {
    server.openai.reset(sseReply())
    await mkdir(SCREENSHOTS, { recursive: true })
    for (const [name, viewport] of [
      ['desktop', undefined],
      ['phone', PHONE],
    ] as const) {
      const { page } = await open(viewport)
      await ask(page, '/stream', 'Say hello')
      await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
      const widths = await page.evaluate<number[]>('[document.documentElement.scrollWidth, innerWidth]')
      expect(widths[0]).toBeLessThanOrEqual(widths[1] as number)
      const path = join(SCREENSHOTS, `page-${name}.png`)
      await page.screenshot({ path, fullPage: true })
      expect((await stat(path)).size).toBeGreaterThan(1000)
    }
  })

  it("README's fetch snippet, run as written on the page's origin, reads the whole answer", async () => {
    const [fetchSnippet] = frontEndSnippets()
    server.openai.reset(sseReply())
    const { page } = await open()
    // `output` stands for the element the snippet writes to.
    const text = await page.evaluate<string>(
      `(async () => { const output = { textContent: '' }; ${fetchSnippet}; return output.textContent })()`,
    )
    expect(text).toBe('Hi there! How can I help you today?')
    expect(server.openai.received.at(-1)?.json?.input).toEqual([{ role: 'user', content: 'Tell me a story' }])
  })

  it("README's EventSource snippet reads the whole answer and closes the source on the done frame", async () => {
    const [, eventSourceSnippet] = frontEndSnippets()
    server.openai.reset(sseReply())
    const { page } = await open()
    const [text, state] = await page.evaluate<[string, number]>(`(async () => {
      const apiKey = undefined
      const output = { textContent: '' }
      ${eventSourceSnippet}
      await new Promise((resolve) => {
        const check = setInterval(() => source.readyState === EventSource.CLOSED && resolve(clearInterval(check)), 10)
      })
      return [output.textContent, source.readyState]
    })()`)
    expect(text).toBe('Hi there! How can I help you today?')
    expect(state).toBe(2)
    expect(server.openai.received).toHaveLength(1)
  })
})
