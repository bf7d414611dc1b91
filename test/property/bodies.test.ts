import fc from 'fast-check'
import { describe, it } from 'vitest'
import { accept, contentType, encode, encoding, mutatedBody } from './generators.js'
import { expectAlive, expectWellFormed, RUNS, TIMEOUT_MS, useFuzzedApp } from './harness.js'
import { OPERATIONS, rows } from './operations.js'

const context = useFuzzedApp()

describe('generated and mutated bodies never get a 5xx, and errors are {"detail"}', () => {
  it.each(rows(OPERATIONS))(
    '%s',
    async (_name, operation) => {
      const path = operation.params.reduce(
        (template, name) => template.replace(`{${name}}`, 'x'),
        operation.path,
      )
      const body = operation.example === undefined ? fc.jsonValue() : mutatedBody(operation)
      await fc.assert(
        fc.asyncProperty(body, encoding, contentType, accept, async (value, how, type, acceptHeader) => {
          const payload = encode(value, how)
          const headers: Record<string, string> = {}
          if (type !== undefined) headers['content-type'] = type
          if (acceptHeader !== undefined) headers.accept = acceptHeader
          const response = await context.harness.app.inject({
            method: operation.method as 'POST',
            url: path,
            headers,
            payload,
          })
          expectWellFormed(response, `${type} ${payload.toString('utf8')}`)
        }),
        { numRuns: RUNS },
      )
      await expectAlive(context.harness)
    },
    TIMEOUT_MS,
  )
})
