import type { Page } from 'playwright-core'
import { describe, expect, it, vi } from 'vitest'
import { KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { describeWithChromium, useChromium } from '../chromium.js'
import { useFakeOpenAI } from '../helpers.js'
import { openPage, useServedApp } from './page-session.js'

/** Every operation of the OpenAPI document the app serves, as `METHOD /path`. */
async function documentedOperations(base: string): Promise<string[]> {
  const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> }
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  )
}

/** Swagger UI renders and answers in seconds when the machine is busy (its bundle is 1.7 MB). */
const WITHIN = { timeout: 30_000 }

/** The status of the answer Swagger UI received (the table's header row has the same class). */
const SHOWN_STATUS = '.live-responses-table .response .response-col_status'

/** Opens POST /chat in Swagger UI, fills its body and executes it; resolves to the status shown. */
async function tryChat(page: Page): Promise<string | null> {
  const operation = page.locator('.opblock-post', { has: page.locator('[data-path="/chat"]') })
  await operation.locator('.opblock-summary').first().click()
  await operation.getByRole('button', { name: 'Try it out' }).click()
  await operation
    .locator('textarea.body-param__text')
    .fill(JSON.stringify({ messages: [{ role: 'user', content: 'Say hello' }] }))
  await operation.getByRole('button', { name: 'Execute' }).click()
  const status = operation.locator(SHOWN_STATUS)
  await status.waitFor(WITHIN)
  return (await status.textContent())?.trim() ?? null
}

describeWithChromium('Swagger UI at /docs, in Chromium', () => {
  vi.setConfig({ testTimeout: 90_000 })
  const chromium = useChromium()
  const fake = useFakeOpenAI()

  describe('without API keys', () => {
    const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url }))

    it('lists every operation of the OpenAPI document', async () => {
      const { page } = await openPage(chromium.browser, `${served.base}/docs/`)
      await page.locator('.opblock').first().waitFor(WITHIN)
      const shown = await page
        .locator('.opblock-summary')
        .evaluateAll((summaries) =>
          summaries.map(
            (summary) =>
              `${summary.querySelector('.opblock-summary-method')?.textContent} ${summary.querySelector('[data-path]')?.getAttribute('data-path')}`,
          ),
        )
      const documented = await documentedOperations(served.base)
      expect(documented.length).toBeGreaterThan(15)
      expect(shown.sort()).toEqual(documented.sort())
    })

    it('"Try it out" on POST /chat renders a 200 answer', async () => {
      const { page } = await openPage(chromium.browser, `${served.base}/docs/`)
      expect(await tryChat(page)).toBe('200')
      // The recorded answer (test/fixtures/openai-response.json), as Swagger UI shows the body.
      expect(await page.locator('.live-responses-table').textContent()).toContain(
        'Hi there! How can I help you today?',
      )
    })
  })

  describe('with API keys', () => {
    const served = useServedApp(() => ({ OPENAI_BASE_URL: fake.upstream.url, ...KEYS_ENVIRONMENT }))

    it('"Try it out" on POST /chat renders 401 without a key, and 200 once "Authorize" has one', async () => {
      const { page } = await openPage(chromium.browser, `${served.base}/docs/`)
      expect(await tryChat(page)).toBe('401')

      await page.getByRole('button', { name: 'Authorize' }).first().click()
      const dialog = page.locator('.modal-ux')
      await dialog.locator('input').first().fill(USE_KEY)
      // The first scheme is bearerAuth (the key); the second, the stream token, stays empty.
      await dialog.getByRole('button', { name: 'Apply credentials' }).first().click()
      await dialog.locator('button.btn-done').first().click()
      const operation = page.locator('.opblock-post', { has: page.locator('[data-path="/chat"]') })
      await operation.getByRole('button', { name: 'Execute' }).click()
      await expect
        .poll(async () => (await operation.locator(SHOWN_STATUS).textContent())?.trim(), WITHIN)
        .toBe('200')
      expect(fake.upstream.received.at(-1)?.headers.authorization).not.toContain(USE_KEY)
    })
  })
})
