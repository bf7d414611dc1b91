/**
 * Preloaded into a benchmarked server (`node --import`): samples event-loop delay and, on SIGUSR2,
 * writes the p50/p99/max since the last reset and the RSS to PROBE_FILE, then resets. Changes nothing
 * else in the process.
 */
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()
process.on('SIGUSR2', () => {
  const file = process.env.PROBE_FILE
  if (!file) return
  const ms = (nanoseconds) => nanoseconds / 1e6
  writeFileSync(
    file,
    JSON.stringify({
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      rss: process.memoryUsage().rss,
    }),
  )
  histogram.reset()
})
