import { accessSync, constants } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, vi } from 'vitest'

/** Debian's Chromium (`apt-get install chromium`): playwright-core drives it, it downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** CI sets it (.ci/run): a missing Chromium then fails the browser tests instead of skipping them. */
const REQUIRED = process.env.REQUIRE_CHROMIUM === '1'

function installed(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const AVAILABLE = installed()

/**
 * `describe` for suites that need a real browser: skipped with a visible notice when Chromium is
 * missing, unless REQUIRE_CHROMIUM=1, which runs them so they fail.
 */
export function describeWithChromium(name: string, suite: () => void): void {
  if (!AVAILABLE && !REQUIRED) {
    console.warn(`${CHROMIUM} not found: skipping "${name}" (apt-get install chromium)`)
  }
  describe.skipIf(!AVAILABLE && !REQUIRED)(name, () => {
    // A page load and a few clicks, or an app's start, take seconds when the machine is busy.
    vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 })
    suite()
  })
}

/**
 * One headless Chromium for the enclosing suite (a launch costs ~0.5 s; each test opens its own
 * context, which is cheap), closed after it. The flags containers need: no sandbox (CI runs as root),
 * and /tmp instead of a small /dev/shm.
 */
export function useChromium(): { browser: Browser } {
  const context = {} as { browser: Browser }
  beforeAll(async () => {
    if (!AVAILABLE) throw new Error(`Chromium is required (REQUIRE_CHROMIUM=1) but ${CHROMIUM} is missing`)
    context.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    })
  }, 30_000)
  afterAll(async () => {
    await context.browser?.close()
  })
  return context
}
