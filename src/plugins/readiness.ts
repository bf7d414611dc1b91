import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'

/** One readiness check: resolves when the dependency answers, rejects (ideally with an AppError) when not. */
export type ReadinessCheck = () => Promise<unknown>

/** Each check's result: "ok", or why it failed (safe to show: our own messages, never upstream text). */
export interface ReadinessReport {
  ready: boolean
  checks: Record<string, string>
  /** The first failed check, as `<name>: <reason>`. */
  failure?: string
}

export interface Readiness {
  /** Adds a named check that /ready runs (issue 11 adds Redis here). */
  add(name: string, check: ReadinessCheck): void
  /** Runs every check at once, each bounded by the timeout. */
  run(): Promise<ReadinessReport>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The checks behind /ready. */
    readiness: Readiness
  }
}

/**
 * A registry of named checks, each bounded by `timeoutMs`. A check still running from an earlier probe is
 * awaited again rather than started twice, so a hung dependency polled every second does not pile up
 * calls. A failure's reason is its AppError message (written to be shown); anything else is logged and
 * shown as "failed".
 */
export function registerReadiness(app: FastifyInstance, timeoutMs: number) {
  const checks = new Map<string, ReadinessCheck>()
  const running = new Map<string, Promise<string>>()

  const outcome = (name: string, check: ReadinessCheck): Promise<string> => {
    let pending = running.get(name)
    if (pending === undefined) {
      pending = check().then(
        () => 'ok',
        (error: unknown) => {
          app.log.warn({ check: name, err: error }, 'readiness check failed')
          return error instanceof AppError ? error.message : 'failed'
        },
      )
      running.set(name, pending)
      void pending.finally(() => running.delete(name))
    }
    return withTimeout(pending, timeoutMs)
  }

  app.decorate('readiness', {
    add(name, check) {
      checks.set(name, check)
    },
    async run() {
      const names = [...checks.keys()]
      const results = await Promise.all(
        names.map((name) => outcome(name, checks.get(name) as ReadinessCheck)),
      )
      const report: ReadinessReport = { ready: true, checks: {} }
      names.forEach((name, index) => {
        const result = results[index] as string
        report.checks[name] = result
        if (result !== 'ok' && report.ready) {
          report.ready = false
          report.failure = `${name}: ${result}`
        }
      })
      return report
    },
  } satisfies Readiness)
}

async function withTimeout(pending: Promise<string>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, `timed out after ${timeoutMs} ms`)
  })
  try {
    return await Promise.race([pending, timeout])
  } finally {
    clearTimeout(timer)
  }
}
