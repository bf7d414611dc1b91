import { describe, expect, it } from 'vitest'
import { waitFor } from './wait-for.js'

describe('waitFor', () => {
  it('resolves once the condition holds, checking it again until then', async () => {
    let checks = 0
    await waitFor(() => ++checks === 3, { interval: 1 })
    expect(checks).toBe(3)
  })

  it('takes a condition that answers asynchronously', async () => {
    await expect(waitFor(async () => true)).resolves.toBeUndefined()
  })

  it('rejects naming the timeout when the condition never holds', async () => {
    await expect(waitFor(() => false, { timeout: 20, interval: 5 })).rejects.toThrow(
      'condition not met within the timeout of 20 ms',
    )
  })
})
