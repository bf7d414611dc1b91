import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { LimitsUnavailableError } from '../../../src/errors.js'
import { RedisFailures } from '../../../src/plugins/limits/redis-failures.js'

/** A logger that keeps what it logs. */
function memoryLog(): { log: FastifyBaseLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log, lines }
}

describe('RedisFailures', () => {
  it('open: counts every failure, serves, and warns once per message however often it fails', () => {
    const { log, lines } = memoryLog()
    const failures = new RedisFailures(log, 'open')
    for (let index = 0; index < 50; index++)
      failures.failed(new Error('connect ECONNREFUSED'), 'the request rate')
    failures.warn(new Error('connect ECONNREFUSED'), 'Redis connection failed; reconnecting')
    expect(failures.count).toBe(50)
    expect(lines.map((line) => line.msg)).toEqual([
      'Redis unreachable: the request rate cannot be checked, serving without it',
      'Redis connection failed; reconnecting',
    ])
    expect(lines[0]).toMatchObject({ level: 40, policy: 'open', failures: 1, detail: 'connect ECONNREFUSED' })
  })

  it('closed: counts the failure and throws a 503 LimitsUnavailableError', () => {
    const { log, lines } = memoryLog()
    const failures = new RedisFailures(log, 'closed')
    expect(() => failures.failed(new Error('Command timed out'), 'a stream slot')).toThrow(
      LimitsUnavailableError,
    )
    expect(failures.count).toBe(1)
    expect(lines[0]?.msg).toBe('Redis unreachable: a stream slot cannot be checked, answering 503')
  })
})
