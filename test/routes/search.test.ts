import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_QUESTION_CHARACTERS } from '../../src/schemas/text.js'
import { ADMIN_KEY, bearer, KEYS_ENVIRONMENT, USE_KEY } from '../access-keys.js'
import { buildTestApp, type TestApp, testConfig, useRagFolder } from '../helpers.js'

let harness: TestApp
const rag = useRagFolder('search-')

/** Three baking documents and two others; "yeast" is in three, two of them baking. */
const DOCUMENTS = [
  {
    id: 'bread',
    title: 'Sourdough',
    text: 'Sourdough bread rises with wild yeast living in a starter of flour and water.',
    source: 'kitchen/sourdough.md',
    metadata: { topic: 'baking', level: 2 },
  },
  {
    id: 'brioche',
    title: 'Brioche',
    text: 'Brioche is an enriched bread: butter and eggs, leavened with baker yeast overnight.',
    metadata: { topic: 'baking', level: 3 },
  },
  {
    id: 'beer',
    title: 'Brewing',
    text: 'Brewer yeast ferments the sugars of malted barley into alcohol and carbon dioxide.',
    metadata: { topic: 'drinks', level: 2 },
  },
  {
    id: 'scones',
    title: 'Scones',
    text: 'Scones need no yeast at all: baking powder makes them rise in the oven.',
    metadata: { topic: 'baking', level: 1 },
  },
  {
    id: 'solar',
    title: 'Solar panels',
    text: 'Photovoltaic panels convert sunlight into electricity; inverters make alternating current.',
    metadata: { topic: 'energy', level: 2 },
  },
]

const search = (payload: unknown, headers: Record<string, string> = {}) =>
  harness.app.inject({ method: 'POST', url: '/search', payload: payload as object, headers })

interface Result {
  text: string
  score: number
  document: { id: string; title: string; source: string; metadata: Record<string, unknown> }
  chunk: { id: string; index: number }
}
const resultsOf = async (payload: unknown): Promise<Result[]> => {
  const response = await search(payload)
  expect(response.statusCode).toBe(200)
  return response.json().results
}

async function start(environment: Record<string, string | undefined>, documents = DOCUMENTS) {
  harness = await buildTestApp(
    testConfig({ OPENAI_BASE_URL: rag.upstream.url, RAG_DATA_DIR: rag.directory, ...environment }),
  )
  if (documents.length > 0) {
    const response = await harness.app.inject({ method: 'POST', url: '/documents', payload: { documents } })
    expect(response.statusCode).toBe(200)
  }
  rag.upstream.received.length = 0
}

afterEach(async () => {
  await harness?.app.close()
})

describe.each([
  ['keyword-only retrieval', { EMBEDDING_PROVIDER: 'none' }],
  ['hybrid retrieval', { EMBEDDING_PROVIDER: 'openai', EMBEDDING_DIMENSIONS: '64' }],
])('POST /search with %s', (_name, environment) => {
  beforeEach(() => start(environment))

  it('answers the passages best first, each with its score, document and chunk', async () => {
    const results = await resultsOf({ query: 'sourdough starter', min_score: 0 })
    expect(results[0]).toEqual({
      text: DOCUMENTS[0]?.text,
      score: expect.any(Number),
      document: {
        id: 'bread',
        title: 'Sourdough',
        source: 'kitchen/sourdough.md',
        metadata: { topic: 'baking', level: 2 },
      },
      chunk: { id: 'bread:0', index: 0 },
    })
    const scores = results.map((result) => result.score)
    expect(scores.every((score) => score >= 0 && score <= 1)).toBe(true)
    expect(scores).toEqual([...scores].sort((a, b) => b - a))
  })

  it('answers no passage for a question the documents do not answer, at the default RAG_MIN_SCORE', async () => {
    expect(await resultsOf({ query: 'banana smoothie recipe' })).toEqual([])
    const answering = await resultsOf({ query: 'sourdough starter' })
    expect(answering[0]?.document.id).toBe('bread')
    expect(answering.every((result) => result.score >= 0.25)).toBe(true)
  })

  it('keeps to the metadata filter, every key of it', async () => {
    const baking = await resultsOf({ query: 'yeast', filter: { topic: 'baking' }, min_score: 0 })
    expect(baking.length).toBeGreaterThan(0)
    expect(baking.every((result) => result.document.metadata.topic === 'baking')).toBe(true)
    expect(baking.map((result) => result.document.id)).not.toContain('beer')

    const both = await resultsOf({ query: 'yeast', filter: { topic: 'baking', level: 3 }, min_score: 0 })
    expect(both.map((result) => result.document.id)).toEqual(['brioche'])
  })

  it('answers at most top_k passages', async () => {
    const all = await resultsOf({ query: 'yeast', min_score: 0, top_k: 50 })
    expect(all.length).toBeGreaterThan(2)
    const two = await resultsOf({ query: 'yeast', min_score: 0, top_k: 2 })
    expect(two).toEqual(all.slice(0, 2))
  })

  it('drops the passages scoring under min_score, and only those', async () => {
    const all = await resultsOf({ query: 'yeast bread', min_score: 0, top_k: 50 })
    const threshold = all.map((result) => result.score).find((score) => score < (all[0]?.score ?? 0))
    expect(threshold).toBeDefined()
    const kept = await resultsOf({ query: 'yeast bread', min_score: threshold, top_k: 50 })
    expect(kept).toEqual(all.filter((result) => result.score >= (threshold as number)))
    expect(kept.length).toBeLessThan(all.length)
  })

  it('asks no model: no call to /responses, and none at all without embeddings', async () => {
    await resultsOf({ query: 'How does sourdough rise?' })
    expect(rag.upstream.received.filter((request) => request.url.endsWith('/responses'))).toEqual([])
    const embeddings = rag.upstream.received.filter((request) => request.url.endsWith('/embeddings'))
    expect(rag.upstream.received).toHaveLength(embeddings.length)
    expect(embeddings).toHaveLength(environment.EMBEDDING_PROVIDER === 'none' ? 0 : 1)
  })
})

describe('POST /search', () => {
  it('answers an empty list from an empty store', async () => {
    await start({}, [])
    expect(await resultsOf({ query: 'sourdough', min_score: 0 })).toEqual([])
  })

  it('works with no OpenAI key at all, where /rag cannot answer', async () => {
    await start({ OPENAI_API_KEY: undefined })
    const results = await resultsOf({ query: 'sourdough starter' })
    expect(results[0]?.document.id).toBe('bread')
    expect(rag.upstream.received).toEqual([])
    const answer = await harness.app.inject({
      method: 'POST',
      url: '/rag',
      payload: { query: 'sourdough starter' },
    })
    expect(answer.statusCode).toBe(503)
  })

  it('needs a key of scope use when API keys are configured', async () => {
    await start(KEYS_ENVIRONMENT, [])
    expect((await search({ query: 'sourdough' })).statusCode).toBe(401)
    expect((await search({ query: 'sourdough' }, bearer(USE_KEY))).statusCode).toBe(200)
    expect((await search({ query: 'sourdough' }, bearer(ADMIN_KEY))).statusCode).toBe(200)
  })

  const invalid: [string, unknown, (string | number)[]][] = [
    ['no body', undefined, ['body']],
    ['no query', { top_k: 3 }, ['body', 'query']],
    ['an empty query', { query: '' }, ['body', 'query']],
    ['a blank query', { query: ' \n\t' }, ['body', 'query']],
    ['a query too long', { query: 'x'.repeat(MAX_QUESTION_CHARACTERS + 1) }, ['body', 'query']],
    ['top_k of 0', { query: 'x', top_k: 0 }, ['body', 'top_k']],
    ['top_k over 50', { query: 'x', top_k: 51 }, ['body', 'top_k']],
    ['a fractional top_k', { query: 'x', top_k: 1.5 }, ['body', 'top_k']],
    ['min_score above 1', { query: 'x', min_score: 2 }, ['body', 'min_score']],
    ['min_score below 0', { query: 'x', min_score: -0.1 }, ['body', 'min_score']],
    ['a filter that is not an object', { query: 'x', filter: 'baking' }, ['body', 'filter']],
    ['a filter value that is an object', { query: 'x', filter: { topic: {} } }, ['body', 'filter', 'topic']],
  ]
  it.each(invalid)('%s is a 422 naming the field', async (_name, payload, loc) => {
    await start({}, [])
    const response = await search(payload)
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0].loc).toEqual(loc)
    expect(rag.upstream.received).toEqual([])
  })
})
