/** What a request lets the response cache do, from its `Cache-Control` header (request semantics). */
export interface CachePolicy {
  /** May the answer come from the cache? (`no-cache` and `no-store` say no.) */
  read: boolean
  /** May the answer be stored? (`no-store` says no.) */
  write: boolean
  /** The oldest cached answer accepted, in ms (`max-age=N`, N seconds); undefined: any within the TTL. */
  maxAgeMs?: number
}

const DEFAULT_POLICY: CachePolicy = { read: true, write: true }

/**
 * Reads a request's `Cache-Control` as RFC 9111 §5.2.1 has it: `no-store` (neither read nor write),
 * `no-cache` (do not read, do write: a fresh answer that replaces the stored one), `max-age=N` (accept
 * an answer at most N seconds old). Other directives, and a malformed max-age, are ignored.
 */
export function cachePolicy(cacheControl: string | undefined): CachePolicy {
  if (cacheControl === undefined || cacheControl === '') return DEFAULT_POLICY
  let read = true
  let write = true
  let maxAgeMs: number | undefined
  for (const directive of cacheControl.toLowerCase().split(',')) {
    const [name, value] = directive.trim().split('=', 2)
    if (name === 'no-store') {
      read = false
      write = false
    } else if (name === 'no-cache') {
      read = false
    } else if (name === 'max-age' && value !== undefined && /^\d+$/.test(value.replace(/"/g, ''))) {
      maxAgeMs = Number(value.replace(/"/g, '')) * 1000
    }
  }
  return maxAgeMs === undefined ? { read, write } : { read, write, maxAgeMs }
}
