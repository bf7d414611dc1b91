import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjsonLines, ndjsonTextReply, ollamaJsonReply } from '../fakes/ollama.js'
import { sseReply, textDeltasReply } from '../fakes/openai.js'
import { buildTestApp, listen, type TestApp, testConfig } from '../helpers.js'
import { parseMetrics, sumOf } from '../metrics-text.js'
import { useModerationSuite } from '../moderation-suite.js'
import { readSse } from '../sse-client.js'
import { waitFor } from '../wait-for.js'

const WITHHELD = (rule: string) => `The answer was withheld by the content policy (rule ${rule})`

/** The same app twice: with the output policy, and without any (the byte-identical comparison). */
let moderated: TestApp & { base: string }
let plain: TestApp & { base: string }
const suite = useModerationSuite({
  rules: [
    { id: 'secrets', terms: ['project nightingale'], appliesTo: ['output'] },
    { id: 'greeting', terms: ['how can I help'], appliesTo: ['output'] },
  ],
})
async function serve(environment: Record<string, string>) {
  const harness = await buildTestApp(testConfig(environment))
  return { ...harness, base: await listen(harness.app) }
}

beforeAll(async () => {
  moderated = await serve(suite.environment())
  plain = await serve(suite.environment({ MODERATION_POLICY_FILE: '' }))
})
afterAll(async () => {
  await Promise.all([moderated?.app.close(), plain?.app.close()])
})

const post = (base: string, path: string, body: object = { prompt: 'Say hi' }) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** Deltas that carry the phrase split in three, slow enough that the upstream is still sending when it is refused. */
const leaking = [
  'Sure. ',
  'The code name is the one you asked about: ',
  'Proj',
  'ect Night',
  'ingale',
  ', and then',
  ' more.',
]

describe('the output policy on streams', () => {
  it('ends an SSE stream with content_filtered before the phrase, and aborts the OpenAI upstream', async () => {
    suite.openai.enqueue(textDeltasReply(leaking, { delayMs: 20 }))
    const abandonedBefore = suite.openai.abandonedRequests
    const stream = await readSse(await post(moderated.base, '/stream'))
    expect(stream.text).toBe('Sure. ')
    expect(stream.last).toEqual({ error: 'content_filtered', detail: WITHHELD('secrets') })
    await waitFor(() => suite.openai.abandonedRequests - abandonedBefore === 1)
    expect(moderated.logText()).toContain('"code":"content_filtered"')
    expect(moderated.logText().toLowerCase()).not.toContain('nightingale')
  })

  it('ends an NDJSON stream with {"error": "content_filtered"} and aborts the Ollama upstream', async () => {
    suite.ollama.enqueue(ndjsonTextReply(leaking, { delayMs: 20 }))
    const abandonedBefore = suite.ollama.abandonedRequests
    const response = await post(moderated.base, '/local-stream')
    const lines = (await response.text()).split('\n').filter(Boolean)
    expect(lines.map((line) => JSON.parse(line).response ?? JSON.parse(line).error)).toEqual([
      'Sure. ',
      'content_filtered',
    ])
    expect(lines.at(-1)).toBe('{"error":"content_filtered"}')
    await waitFor(() => suite.ollama.abandonedRequests - abandonedBefore === 1)
  })

  it('relays an SSE stream that only resembles a rule byte for byte as without a policy', async () => {
    const resembling = ['Project Night', 'gale and the ', 'nightingales of projects', ' are fine.']
    suite.openai.enqueue(textDeltasReply(resembling), textDeltasReply(resembling))
    // Each stream has its own random id (resumable streams): compared with it written as <id>.
    const relayed = async (base: string) => {
      const response = await post(base, '/stream')
      return (await response.text()).replaceAll(response.headers.get('x-stream-id') ?? '<none>', '<id>')
    }
    const withPolicy = await relayed(moderated.base)
    const without = await relayed(plain.base)
    expect(withPolicy).toBe(without)
    expect(withPolicy).toContain('data: {"done":true}')
  })

  it("relays an NDJSON stream that passes with Ollama's own lines, byte for byte", async () => {
    const body = await (await post(moderated.base, '/local-stream')).text()
    expect(body).toBe(ndjsonLines('ollama-generate-stream.ndjson').join(''))
  })

  it('releases the held tail of a clean stream before its done frame', async () => {
    const deltas = ['Here it is: ', 'a short ending']
    suite.openai.enqueue(textDeltasReply(deltas))
    const response = await post(moderated.base, '/stream')
    const stream = await readSse(response)
    expect(stream.frames.map((frame) => frame.data)).toEqual([
      { stream_id: response.headers.get('x-stream-id') },
      { content: 'Here it is: ' },
      { content: 'a short ending' },
      { done: true },
    ])
  })

  it('withholds the rest of the recorded answer once the output-only rule matches', async () => {
    suite.openai.enqueue(sseReply())
    const stream = await readSse(await post(moderated.base, '/stream'))
    // Nothing is released: "Hi" waits for the 19 characters of the longest rule ("project nightingale")
    // to follow it, and "how can i help" is complete after 17.
    expect(stream.text).toBe('')
    expect(stream.last).toEqual({ error: 'content_filtered', detail: WITHHELD('greeting') })
  })

  it('counts a withheld stream by rule in the metrics', async () => {
    const count = async () =>
      sumOf(
        parseMetrics(await (await fetch(`${moderated.base}/metrics`)).text()),
        'genai_moderation_blocked_total',
        {
          rule: 'secrets',
          direction: 'output',
        },
      )
    const before = await count()
    suite.openai.enqueue(textDeltasReply(leaking))
    await (await post(moderated.base, '/stream')).text()
    expect(await count()).toBe(before + 1)
  })
})

describe('the output policy on whole answers', () => {
  it.each([
    ['/chat', { messages: [{ role: 'user', content: 'hi' }] }],
    ['/safe', { prompt: 'hi' }],
  ])('answers %s with 422 when the answer breaks a rule, without its text', async (path, body) => {
    const response = await post(moderated.base, path, body)
    expect(response.status).toBe(422)
    expect(await response.json()).toEqual({
      detail: [{ loc: ['response'], msg: WITHHELD('greeting'), type: 'content_filtered' }],
    })
  })

  it('answers a clean whole answer as without a policy', async () => {
    suite.ollama.enqueue(ollamaJsonReply('ollama-generate.json'))
    const response = await post(moderated.base, '/local-chat')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ response: 'The sky is blue because of Rayleigh scattering.' })
  })
})
