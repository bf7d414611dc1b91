import fc from 'fast-check'
import { describe, it } from 'vitest'
import { accept, url } from './generators.js'
import { expectAlive, expectWellFormed, RUNS, TIMEOUT_MS, useFuzzedApp } from './harness.js'
import { OPERATIONS, rows } from './operations.js'

const context = useFuzzedApp()

describe('generated query strings and path parameters never get a 5xx, and errors are {"detail"}', () => {
  it.each(rows(OPERATIONS))(
    '%s',
    async (_name, operation) => {
      await fc.assert(
        fc.asyncProperty(url(operation), accept, async (target, acceptHeader) => {
          const response = await context.harness.app.inject({
            method: operation.method as 'GET',
            url: target,
            headers: acceptHeader === undefined ? {} : { accept: acceptHeader },
          })
          expectWellFormed(response, target)
        }),
        { numRuns: RUNS },
      )
      await expectAlive(context.harness)
    },
    TIMEOUT_MS,
  )
})
