import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Resolves once `condition` holds, checking it every `interval` ms; rejects when `timeout` ms pass
 * first. The one way a test waits for something to happen: never a fixed sleep.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeout?: number; interval?: number } = {},
): Promise<void> {
  const { timeout = 5_000, interval = 10 } = options
  const deadline = performance.now() + timeout
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within the timeout of ${timeout} ms`)
    await sleep(interval)
  }
}
