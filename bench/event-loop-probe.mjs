/**
 * Preloaded into a benchmarked server (`node --import`): samples event-loop delay and, on SIGUSR2,
 * writes the p50/p99/max since the last reset, the RSS and the heap to PROBE_FILE, then resets. Changes
 * nothing else in the process, unless PROBE_GC is set (with `--expose-gc`): then it collects garbage
 * first, so that `heapUsed` is what is alive (the soak tells a leak from a heap that is merely large).
 */
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()
process.on('SIGUSR2', () => {
  const file = process.env.PROBE_FILE
  if (!file) return
  const ms = (nanoseconds) => nanoseconds / 1e6
  const loop = {
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  }
  // After reading the loop's delay: the collection's pause counts in the next interval.
  if (process.env.PROBE_GC) globalThis.gc?.()
  const memory = process.memoryUsage()
  writeFileSync(
    file,
    JSON.stringify({
      ...loop,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
    }),
  )
  histogram.reset()
})
