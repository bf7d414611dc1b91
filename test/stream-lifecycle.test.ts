import { describe, expect, it } from 'vitest'
import { SSE_HEADERS, sseFormat } from '../src/streaming/sse.js'
import type { RelayEvent } from '../src/streaming/stream-session.js'
import { sendFrames } from '../src/streaming/streams.js'
import { buildTestApp, listen, testConfig } from './helpers.js'

describe('the frame writer', () => {
  it('ends the response and logs the bug when an event source throws mid-stream', async () => {
    const harness = await buildTestApp(testConfig())
    async function* broken(): AsyncGenerator<RelayEvent> {
      yield { type: 'part', part: { type: 'text-delta', text: 'partial' } }
      throw new Error('relay bug')
    }
    harness.app.get('/broken', (_request, reply) => sendFrames(reply, SSE_HEADERS, broken(), sseFormat()))
    const base = await listen(harness.app)
    const response = await fetch(`${base}/broken`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('id: 1\ndata: {"content":"partial"}\n\n')
    await harness.app.close()
    expect(harness.logs.some((line) => line.msg === 'stream relay failed')).toBe(true)
  })
})
