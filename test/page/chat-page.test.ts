import { expect, it } from 'vitest'
import { longSseReply } from '../fakes/openai.js'
import { serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'
import { waitFor } from '../wait-for.js'
import { describeWithChromium, useChromium } from '../chromium.js'
import { ask, openPage, WITHIN } from './page-session.js'

describeWithChromium('the chat page, in Chromium, on /stream', () => {
  const chromium = useChromium()
  const fake = useFakeOpenAI()
  let base: string

  const open = async (environment: Record<string, string> = {}) => {
    const served = await serveTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url, ...environment }))
    base = served.base
    return openPage(chromium.browser, `${base}/`)
  }

  it('shows the first tokens while the upstream still drips, and the whole text at the end', async () => {
    const deltas = 8
    fake.upstream.reset(longSseReply(deltas, 'word ', { delayMs: 150 }))
    const { page } = await open()
    const chunksBefore = fake.upstream.chunksWritten
    const answer = page.locator('#answer')
    await ask(page, '/stream', 'Say word')

    await answer.getByText('word', { exact: false }).waitFor()
    const chunksAtFirstToken = fake.upstream.chunksWritten - chunksBefore
    const totalChunks = (longSseReply(deltas) as { chunks: string[] }).chunks.length
    expect(chunksAtFirstToken).toBeLessThan(totalChunks)
    expect(await answer.textContent()).not.toBe('word '.repeat(deltas))

    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
    expect(await answer.textContent()).toBe('word '.repeat(deltas))
  })
})
