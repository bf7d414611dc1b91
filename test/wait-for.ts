import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Resolves once `condition` holds, checking it every `interval` ms; rejects naming the timeout when it
 * still does not hold after `timeout` ms. For waiting on something to happen, never for proving that
 * something does not (a wait that ends proves nothing about what comes later).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeout?: number; interval?: number } = {},
): Promise<void> {
  const { timeout = 5000, interval = 10 } = options
  const deadline = performance.now() + timeout
  for (;;) {
    if (await condition()) return
    if (performance.now() >= deadline) throw new Error(`waitFor: condition not met within ${timeout} ms`)
    await sleep(interval)
  }
}
