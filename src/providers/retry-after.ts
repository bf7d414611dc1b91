/**
 * Reads how long an upstream asked us to wait: `retry-after-ms` (OpenAI's, float milliseconds) first,
 * then the standard `retry-after` (seconds or an HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(
  headers: Pick<Headers, 'get'> | undefined,
  now = Date.now(),
): number | undefined {
  if (!headers) return undefined
  const milliseconds = Number.parseFloat(headers.get('retry-after-ms') ?? '')
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds
  const retryAfter = headers.get('retry-after')
  if (!retryAfter) return undefined
  const seconds = Number(retryAfter)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
