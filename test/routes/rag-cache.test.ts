import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildTestApp, listen, type TestApp, testConfig, useRagFolder } from '../helpers.js'
import { readSse } from '../sse-client.js'

let harness: TestApp
const rag = useRagFolder('rag-cache-')

const bread = (text: string) => ({ id: 'bread', title: 'Sourdough', text })
const RISES = 'Sourdough bread rises with wild yeast living in a starter of flour and water.'

async function ingest(...documents: object[]) {
  const response = await harness.app.inject({ method: 'POST', url: '/documents', payload: { documents } })
  expect(response.statusCode).toBe(200)
}

beforeEach(async () => {
  harness = await buildTestApp(
    testConfig({ OPENAI_BASE_URL: rag.upstream.url, RAG_DATA_DIR: rag.directory, RESPONSE_CACHE: 'true' }),
  )
  await ingest(bread(RISES))
})
afterEach(async () => {
  await harness.app.close()
})

const modelCalls = () => rag.upstream.received.filter((request) => request.url.endsWith('/responses'))
const ask = () =>
  harness.app.inject({ method: 'POST', url: '/rag', payload: { query: 'How does sourdough rise?' } })

describe('POST /rag with the response cache on', () => {
  it('answers a repeated question from the cache, with the sources retrieved afresh', async () => {
    const [first, second] = [await ask(), await ask()]
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['miss', 'hit'])
    expect(second.json()).toEqual(first.json())
    expect(modelCalls()).toHaveLength(1)
  })

  it('asks the model again when the passages changed: they are part of the key', async () => {
    await ask()
    await ingest(bread(`${RISES} It is baked at 250 degrees.`))
    expect((await ask()).headers['x-cache']).toBe('miss')
    expect(modelCalls()).toHaveLength(2)
  })

  it('serves the cached answer to `stream: true` after the sources frame', async () => {
    const answered = (await ask()).json()
    const base = await listen(harness.app)
    const response = await fetch(`${base}/rag`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'How does sourdough rise?', stream: true }),
    })
    expect(response.headers.get('x-cache')).toBe('hit')
    const stream = await readSse(response)
    expect(stream.frames.map((frame) => frame.data)).toEqual([
      { sources: answered.sources },
      { stream_id: response.headers.get('x-stream-id') },
      { content: answered.text },
      { done: true },
    ])
    expect(modelCalls()).toHaveLength(1)
  })
})
