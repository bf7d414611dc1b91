import type { FastifyBaseLogger } from 'fastify'
import { LimitsUnavailableError } from '../../errors.js'
import { redactSecrets } from '../../redaction.js'

/** At most one warning per this long while Redis stays unreachable: a busy server would flood its log. */
export const FAILURE_WARNING_INTERVAL_MS = 10_000

/**
 * What the limits do when Redis fails (RATE_LIMIT_REDIS_FAILURE): `open` serves the request without the
 * limit, `closed` answers 503. Either way the failure is counted (for metrics) and logged as a warning:
 * each kind of warning at most once per FAILURE_WARNING_INTERVAL_MS, with how many happened since the
 * last one (a reconnection warning does not hide the one saying requests go unlimited).
 */
export class RedisFailures {
  readonly #log: FastifyBaseLogger
  readonly #policy: 'open' | 'closed'
  /** Requests (or stream slots) Redis failed, since the start. */
  count = 0
  /** Per warning message: when it was last logged, and how often it happened since. */
  readonly #warnings = new Map<string, { loggedAt: number; unreported: number }>()

  constructor(log: FastifyBaseLogger, policy: 'open' | 'closed') {
    this.#log = log
    this.#policy = policy
  }

  /**
   * A limit could not be checked (`what`: "the request rate", "a stream slot"): returns when the policy
   * serves anyway, throws LimitsUnavailableError (503) when it is `closed`.
   */
  failed(error: unknown, what: string): void {
    this.count++
    const outcome = this.#policy === 'open' ? 'serving without it' : 'answering 503'
    this.warn(error, `Redis unreachable: ${what} cannot be checked, ${outcome}`)
    if (this.#policy === 'closed') {
      throw new LimitsUnavailableError({ cause: error, logDetail: messageOf(error) })
    }
  }

  /** Logs a Redis failure (of a request's check, the connection, a lease), rate limited per message. */
  warn(error: unknown, message: string): void {
    const now = performance.now()
    const warning = this.#warnings.get(message) ?? { loggedAt: Number.NEGATIVE_INFINITY, unreported: 0 }
    this.#warnings.set(message, warning)
    warning.unreported++
    if (now - warning.loggedAt < FAILURE_WARNING_INTERVAL_MS) return
    this.#log.warn({ policy: this.#policy, failures: warning.unreported, detail: messageOf(error) }, message)
    warning.loggedAt = now
    warning.unreported = 0
  }
}

/** The error's message only (never the whole object, which holds the connection options), masked. */
function messageOf(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error))
}
