import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import { ServerShuttingDownError } from '../../src/errors.js'
import { InFlightRequests } from '../../src/plugins/in-flight-requests.js'

describe('InFlightRequests', () => {
  it('is idle at once when no request is in flight', async () => {
    await new InFlightRequests().idle()
  })

  it('becomes idle when its last request is forgotten, not before', async () => {
    const inFlight = new InFlightRequests()
    const [first, second] = [new Cancellation(), new Cancellation()]
    inFlight.add(first)
    inFlight.add(second)
    const journal: string[] = []
    const idle = inFlight.idle().then(() => journal.push('idle'))
    inFlight.delete(first)
    // Every reaction queued so far runs before setImmediate's callback.
    await new Promise((resolve) => setImmediate(resolve))
    journal.push('first forgotten')
    inFlight.delete(second)
    await idle
    expect(journal).toEqual(['first forgotten', 'idle'])
    expect(inFlight.size).toBe(0)
  })

  it('cancels every request in flight with the reason given', () => {
    const inFlight = new InFlightRequests()
    const cancellations = [new Cancellation(), new Cancellation()]
    for (const cancellation of cancellations) inFlight.add(cancellation)
    const reason = new ServerShuttingDownError()
    inFlight.cancelAll(reason)
    expect(cancellations.map((cancellation) => cancellation.signal.reason)).toEqual([reason, reason])
  })
})
