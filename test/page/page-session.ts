import type { FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, onTestFinished } from 'vitest'
import { ndjsonReply, startFakeOllama } from '../fakes/ollama.js'
import type { FakeUpstream } from '../fakes/upstream.js'
import { buildTestApp, listen, testConfig, useFakeOpenAI } from '../helpers.js'

/** How long `expect.poll` waits for the page (its default, 1 s, is short for a browser on a busy machine). */
export const WITHIN = { timeout: 10_000 }

/** Viewports of the screenshots and the layout tests. */
export const DESKTOP = { width: 1280, height: 900 }
export const PHONE = { width: 390, height: 844 }

/**
 * A fresh page (its own context: no cache, cookies or storage shared between tests) at `url`, closed
 * when the test finishes. Messages the page logs to its console come back in `console`, so a test can
 * show what the page saw when an assertion fails.
 */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = DESKTOP,
): Promise<{ page: Page; console: string[] }> {
  const context = await browser.newContext({ viewport })
  onTestFinished(() => context.close())
  const page = await context.newPage()
  const console: string[] = []
  page.on('console', (message) => console.push(`${message.type()}: ${message.text()}`))
  page.on('pageerror', (error) => console.push(`pageerror: ${error.message}`))
  await page.goto(url)
  return { page, console }
}

/** Chooses the route, types the prompt and sends it, as a user would. */
export async function ask(page: Page, route: string, prompt: string): Promise<void> {
  await page.getByRole('radio', { name: route }).check()
  await page.getByLabel('Prompt').fill(prompt)
  await page.getByRole('button', { name: 'Send' }).click()
}

/**
 * The app for the enclosing suite, listening on a loopback port (a build costs seconds on a busy
 * machine: tests of one configuration share it). `environment` is read in `beforeAll`, after the
 * fakes' own hooks have started them.
 */
export function useServedApp(environment: () => Record<string, string>): {
  base: string
  app: FastifyInstance
} {
  const context = {} as { base: string; app: FastifyInstance }
  beforeAll(async () => {
    const { app } = await buildTestApp(testConfig(environment()))
    context.app = app
    context.base = await listen(app)
  }, 30_000)
  afterAll(async () => {
    await context.app?.close()
  })
  return context
}

export interface ChatServer {
  openai: FakeUpstream
  ollama: FakeUpstream
  /** The app's base URL. */
  base: string
}

/**
 * For the enclosing suite: a fake OpenAI (reset to its recorded answer before each test), a fake
 * Ollama, and the app pointed at both.
 */
export function useChatServer(environment: Record<string, string> = {}): ChatServer {
  const openai = useFakeOpenAI()
  const context = {} as { ollama: FakeUpstream }
  beforeAll(async () => {
    context.ollama = await startFakeOllama()
  })
  afterAll(async () => {
    await context.ollama?.close()
  })
  beforeEach(() => {
    context.ollama.reset(ndjsonReply())
  })
  const served = useServedApp(() => ({
    OPENAI_BASE_URL: openai.upstream.url,
    OLLAMA_HOST: context.ollama.url,
    ...environment,
  }))
  return {
    get openai() {
      return openai.upstream
    },
    get ollama() {
      return context.ollama
    },
    get base() {
      return served.base
    },
  }
}
