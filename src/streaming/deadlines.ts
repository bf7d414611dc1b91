import { UpstreamTimeoutError } from '../errors.js'
import type { Stage, StageContext } from './pipeline.js'

export interface DeadlineLimits {
  /** Longest wait for each upstream part after the first (time the client is full does not count). */
  idleMs: number
  /** Longest life of the whole stream, from its opening, retries before the first part included. */
  totalMs: number
}

/**
 * Ends a stream whose upstream goes quiet for `idleMs`, or that lives longer than `totalMs`, with a
 * timeout failure (a 504 before the first part, a last error frame after it). One timer for both, armed
 * for the nearer deadline and re-armed only when it fires, never per event. The first part's own limit
 * is per attempt and lives with the attempts (source.ts).
 */
export function deadlines(limits: DeadlineLimits): Stage {
  let startedAt = 0
  let timer: NodeJS.Timeout | undefined

  const check = (context: StageContext) => {
    const now = performance.now()
    if (now - startedAt >= limits.totalMs) {
      const logDetail = `stream exceeded its total limit of ${limits.totalMs} ms`
      return context.fail(new UpstreamTimeoutError({ logDetail }))
    }
    const waitingSince = context.waitingSince()
    if (waitingSince !== undefined && now - waitingSince >= limits.idleMs) {
      const logDetail = `no upstream event between events within ${limits.idleMs} ms`
      return context.fail(new UpstreamTimeoutError({ logDetail }))
    }
    const idleDeadline = (waitingSince ?? now) + limits.idleMs
    const next = Math.min(startedAt + limits.totalMs, idleDeadline)
    timer = setTimeout(check, Math.max(1, next - now), context)
  }

  return {
    start(context) {
      startedAt = performance.now()
      check(context)
    },
    close() {
      clearTimeout(timer)
    },
  }
}
