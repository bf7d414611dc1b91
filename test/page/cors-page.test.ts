import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithChromium, useChromium } from '../chromium.js'
import { type StaticSite, startStaticSite } from '../fakes/static-site.js'
import { useFakeOpenAI } from '../helpers.js'
import { openPage, useServedApp } from './page-session.js'

const PAGE = '<!doctype html><title>Another site</title><p>A front end on another origin.</p>'

/** What a page's `fetch` of POST /chat on the API gets: the status and answer, or the browser's refusal. */
function chatFrom(page: Page, api: string): Promise<string> {
  return page.evaluate(async (url) => {
    try {
      const response = await fetch(`${url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
      })
      return `${response.status} ${((await response.json()) as { text: string }).text}`
    } catch (error) {
      return `refused: ${(error as Error).name}`
    }
  }, api)
}

describeWithChromium('a page on another origin, in Chromium', () => {
  const chromium = useChromium()
  const fake = useFakeOpenAI()
  let allowed: StaticSite
  let other: StaticSite
  beforeAll(async () => {
    allowed = await startStaticSite({ pages: { '/': PAGE } })
    other = await startStaticSite({ pages: { '/': PAGE } })
  })
  afterAll(async () => {
    await allowed?.close()
    await other?.close()
  })
  const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url, CORS_ORIGINS: allowed.origin }))

  it('calls the API when CORS_ORIGINS lists its origin', async () => {
    const { page } = await openPage(chromium.browser, `${allowed.origin}/`)
    expect(await chatFrom(page, served.base)).toBe('200 Hi there! How can I help you today?')
    expect(fake.upstream.received).toHaveLength(1)
  })

  it('cannot when its origin is not listed: the preflight fails and the upstream is never called', async () => {
    const { page } = await openPage(chromium.browser, `${other.origin}/`)
    expect(await chatFrom(page, served.base)).toBe('refused: TypeError')
    expect(fake.upstream.received).toHaveLength(0)
  })
})
