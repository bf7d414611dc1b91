import type { IncomingHttpHeaders } from 'node:http'

/**
 * Reads how long an upstream asked us to wait: `retry-after-ms` (OpenAI's, float milliseconds) first,
 * then the standard `retry-after` (seconds or an HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const milliseconds = Number.parseFloat(single(headers['retry-after-ms']) ?? '')
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds
  const retryAfter = single(headers['retry-after'])
  if (!retryAfter) return undefined
  const seconds = Number(retryAfter)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
