import fc from 'fast-check'
import { describe, it } from 'vitest'
import { accept, url } from './generators.js'
import { expectAlive, expectWellFormed, useFuzzedApp } from './harness.js'
import { nameOf, OPERATIONS } from './operations.js'

/** Runs per operation: ~40 keeps the whole property suite within its budget on two cores. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40)
const TIMEOUT_MS = 60_000

const context = useFuzzedApp()

describe('generated query strings and path parameters never get a 5xx, and errors are {"detail"}', () => {
  it.each(OPERATIONS.map((operation) => [nameOf(operation), operation] as const))(
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
