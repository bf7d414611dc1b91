import { afterEach, beforeEach, expect, it } from 'vitest'
import { describeWithChromium, useChromium } from '../chromium.js'
import { longSseReply, openAIWithEmbeddings } from '../fakes/openai.js'
import { buildTestApp, listen, type TestApp, testConfig, useRagFolder } from '../helpers.js'
import { ask, openPage, WITHIN } from './page-session.js'

const DOCUMENTS = [
  {
    id: 'bread',
    title: 'Sourdough',
    source: 'https://example.com/sourdough',
    text: 'Sourdough bread rises with wild yeast living in a starter of flour and water.',
  },
  {
    id: 'tea',
    title: 'Green tea',
    text: 'Green tea leaves are steamed or pan-fired to stop oxidation before drying.',
  },
]

describeWithChromium('the chat page, in Chromium, on the documents', () => {
  const chromium = useChromium()
  const rag = useRagFolder('page-rag-')
  let harness: TestApp
  let base: string

  beforeEach(async () => {
    rag.upstream.reset(openAIWithEmbeddings(() => longSseReply(1, 'Sourdough rises with wild yeast [1].')))
    harness = await buildTestApp(
      testConfig({ OPENAI_BASE_URL: rag.upstream.url, RAG_DATA_DIR: rag.directory }),
    )
    const ingested = await harness.app.inject({
      method: 'POST',
      url: '/documents',
      payload: { documents: DOCUMENTS },
    })
    expect(ingested.statusCode).toBe(200)
    base = await listen(harness.app)
  })
  // Before useRagFolder's hook removes the data folder (afterEach hooks run last-registered first).
  afterEach(async () => {
    await harness?.app.close()
  })

  it('/rag shows the numbered sources, and each [n] of the answer links to its source', async () => {
    const { page } = await openPage(chromium.browser, `${base}/`)
    await ask(page, '/rag', 'How does sourdough rise?')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')

    expect(await page.locator('#answer').textContent()).toBe('Sourdough rises with wild yeast [1].')
    const sources = page.getByRole('region', { name: 'Sources' }).getByRole('listitem')
    expect(await sources.count()).toBe(1)
    const source = sources.first()
    expect(await source.getAttribute('id')).toBe('source-1')
    expect(await source.getByRole('link', { name: 'Sourdough' }).getAttribute('href')).toBe(
      'https://example.com/sourdough',
    )
    expect(await source.textContent()).toContain(DOCUMENTS[0]?.text)

    await page.locator('#answer').getByRole('link', { name: '[1]' }).click()
    expect(new URL(page.url()).hash).toBe('#source-1')
    const asked = rag.upstream.received.find((request) => request.url.endsWith('/responses'))
    expect(JSON.stringify(asked?.json)).toContain('How does sourdough rise?')
  })

  it('/search lists the passages found, best first, without asking a model', async () => {
    const { page } = await openPage(chromium.browser, `${base}/`)
    await ask(page, '/search', 'green tea leaves')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('1 passage found.')
    const results = page.getByRole('region', { name: 'Sources' }).getByRole('listitem')
    expect(await results.first().textContent()).toContain('Green tea')
    expect(await results.first().textContent()).toContain(DOCUMENTS[1]?.text)
    expect(rag.upstream.received.filter((request) => request.url.endsWith('/responses'))).toEqual([])
  })

  it('/search says when nothing relevant was found', async () => {
    const { page } = await openPage(chromium.browser, `${base}/`)
    await ask(page, '/search', 'volcanic basalt geology')
    await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Nothing relevant was found.')
    expect(await page.getByRole('region', { name: 'Sources' }).isVisible()).toBe(false)
  })

  it('/rag says the documents hold nothing relevant, without asking a model', async () => {
    const { page } = await openPage(chromium.browser, `${base}/`)
    await ask(page, '/rag', 'volcanic basalt geology')
    await expect
      .poll(() => page.locator('#status').textContent(), WITHIN)
      .toBe('The documents contain nothing relevant to this question.')
    expect(await page.locator('#answer').textContent()).toBe('')
    expect(rag.upstream.received.filter((request) => request.url.endsWith('/responses'))).toEqual([])
  })
})
