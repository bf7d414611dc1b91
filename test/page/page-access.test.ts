import { describe, expect, it } from 'vitest'
import { KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { describeWithChromium, useChromium } from '../chromium.js'
import { sseReply } from '../fakes/openai.js'
import { useFakeOpenAI } from '../helpers.js'
import { ask, openPage, useServedApp, WITHIN } from './page-session.js'

describeWithChromium('the chat page, in Chromium, against a server that says no', () => {
  const chromium = useChromium()
  const fake = useFakeOpenAI()

  describe('with API keys', () => {
    const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url, ...KEYS_ENVIRONMENT }))

    it('asks for a key on 401, answers once one is given, and stores it nowhere', async () => {
      fake.upstream.reset(sseReply())
      const { page } = await openPage(chromium.browser, `${served.base}/`)
      await ask(page, '/stream', 'Hello')
      await expect
        .poll(() => page.locator('#status').textContent(), WITHIN)
        .toBe('This server needs an API key: enter one in "API key" and send again.')
      expect(fake.upstream.received).toHaveLength(0)

      await page.getByLabel('API key').fill(USE_KEY)
      await page.getByRole('button', { name: 'Send' }).click()
      await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
      expect(await page.locator('#answer').textContent()).toBe('Hi there! How can I help you today?')
      const stored = await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')
      expect(stored).toEqual([0, 0, ''])
      expect(await page.context().cookies()).toEqual([])
    })

    it('trades the key for a stream token to open EventSource, never putting the key in the URL', async () => {
      fake.upstream.reset(sseReply())
      const { page } = await openPage(chromium.browser, `${served.base}/`)
      await page.getByLabel('API key').fill(USE_KEY)
      await page.getByLabel('Use EventSource').check()
      const request = page.waitForRequest((candidate) => new URL(candidate.url()).pathname === '/stream')
      await ask(page, '/stream', 'Hello')
      const url = new URL((await request).url())
      expect(url.searchParams.get('access_token')).toMatch(/.{20,}/)
      expect(url.search).not.toContain(USE_KEY)
      await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')
      expect(await page.locator('#answer').textContent()).toBe('Hi there! How can I help you today?')
    })
  })

  describe('with API keys, EventSource without one', () => {
    const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url, ...KEYS_ENVIRONMENT }))

    it('says the stream failed or was refused, since EventSource hides the 401', async () => {
      const { page } = await openPage(chromium.browser, `${served.base}/`)
      await page.getByLabel('Use EventSource').check()
      const refused = page.waitForResponse((response) => new URL(response.url()).pathname === '/stream')
      await ask(page, '/stream', 'Hello')
      expect((await refused).status()).toBe(401)
      await expect
        .poll(() => page.locator('#status').textContent(), WITHIN)
        .toBe('The stream failed or was refused (EventSource does not say why).')
      expect(fake.upstream.received).toHaveLength(0)
    })
  })

  describe('with a request rate limit of one', () => {
    const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url, RATE_LIMIT_MAX: '1' }))

    it('says how long to wait when it answers 429', async () => {
      fake.upstream.reset(sseReply())
      const { page } = await openPage(chromium.browser, `${served.base}/`)
      await ask(page, '/stream', 'Hello')
      await expect.poll(() => page.locator('#status').textContent(), WITHIN).toBe('Done.')

      const refused = page.waitForResponse((response) => new URL(response.url()).pathname === '/stream')
      await page.getByRole('button', { name: 'Send' }).click()
      const response = await refused
      expect(response.status()).toBe(429)
      const wait = Number(response.headers()['retry-after'])
      expect(wait).toBeGreaterThan(0)
      await expect
        .poll(() => page.locator('#status').textContent(), WITHIN)
        .toBe(`Too many requests: try again in ${wait} s.`)
    })
  })
})
