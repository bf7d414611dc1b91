import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { documentIdSchema } from '../../src/schemas/documents.js'
import { fixtureReply } from '../fakes/openai.js'
import { buildTestApp, type TestApp, testConfig, useRagFolder } from '../helpers.js'

let harness: TestApp
const rag = useRagFolder('documents-')
/** Apps a test builds beside the harness, closed with it (before their data folder goes). */
const others: TestApp[] = []

const ragEnvironment = (dataDir: string) => ({
  RAG_DATA_DIR: dataDir,
  EMBEDDING_PROVIDER: 'openai',
  EMBEDDING_DIMENSIONS: '64',
  CHUNK_TOKENS: '32',
  CHUNK_OVERLAP_TOKENS: '0',
  INGEST_BODY_LIMIT_BYTES: '3000000',
})

beforeEach(async () => {
  harness = await buildTestApp(
    testConfig({ OPENAI_BASE_URL: rag.upstream.url, ...ragEnvironment(rag.directory) }),
  )
})
afterEach(async () => {
  await Promise.all(others.splice(0).map((other) => other.app.close()))
  await harness.app.close()
})

const paragraphs = [
  '# Sourdough',
  'Sourdough bread rises with wild yeast and lactic acid bacteria living in a starter.',
  'The starter is fed with flour and water every day and kept at room temperature.',
  'A long cold proof in the fridge develops a sour taste and an open crumb.',
]

const ingest = (documents: object[]) =>
  harness.app.inject({ method: 'POST', url: '/documents', payload: { documents } })

const embeddingInputs = () =>
  rag.upstream.received
    .filter((request) => request.url.endsWith('/embeddings'))
    .flatMap((request) => request.json?.input as string[])

describe('POST /documents', () => {
  it('chunks, embeds and stores each document, reporting what it did', async () => {
    const response = await ingest([
      { id: 'bread', text: paragraphs.join('\n\n'), metadata: { topic: 'baking' } },
    ])
    expect(response.statusCode).toBe(200)
    const [result] = response.json().results
    expect(result).toEqual({
      id: 'bread',
      status: 'created',
      chunks: expect.any(Number),
      embedded: result.chunks,
      from_cache: 0,
    })
    expect(result.chunks).toBeGreaterThan(1)
    expect(embeddingInputs()).toHaveLength(result.chunks)
    const sent = rag.upstream.received.find((request) => request.url.endsWith('/embeddings'))?.json
    expect(sent).toMatchObject({ model: 'text-embedding-3-small', dimensions: 64, encoding_format: 'base64' })
  })

  it('does nothing when the same document is sent again', async () => {
    await ingest([{ id: 'bread', text: paragraphs.join('\n\n') }])
    const calls = rag.upstream.received.length
    const [result] = (await ingest([{ id: 'bread', text: paragraphs.join('\n\n') }])).json().results
    expect(result).toMatchObject({ status: 'unchanged', embedded: 0, from_cache: 0 })
    expect(rag.upstream.received).toHaveLength(calls)
  })

  it('re-embeds only the chunks whose text changed', async () => {
    const first = (await ingest([{ id: 'bread', text: paragraphs.join('\n\n') }])).json().results[0]
    const before = embeddingInputs().length
    const changed = [...paragraphs.slice(0, 3), 'A short proof at room temperature gives a milder loaf.']
    const [result] = (await ingest([{ id: 'bread', text: changed.join('\n\n') }])).json().results
    expect(result.status).toBe('updated')
    expect(result.embedded).toBe(1)
    expect(result.from_cache).toBe(first.chunks - 1)
    expect(embeddingInputs().slice(before)).toEqual([expect.stringContaining('milder loaf')])
  })

  it('rewrites a document whose metadata alone changed, without embedding anything', async () => {
    await ingest([{ id: 'bread', text: paragraphs.join('\n\n'), metadata: { topic: 'baking' } }])
    const before = embeddingInputs().length
    const [result] = (
      await ingest([{ id: 'bread', text: paragraphs.join('\n\n'), metadata: { topic: 'food' } }])
    ).json().results
    expect(result).toMatchObject({ status: 'updated', embedded: 0 })
    expect(embeddingInputs()).toHaveLength(before)
    expect((await harness.app.inject({ url: '/documents/bread' })).json().metadata).toEqual({ topic: 'food' })
  })

  it('without an id, the same source names the same document', async () => {
    const first = (await ingest([{ source: 'notes/bread.md', text: 'Old notes about bread.' }])).json()
      .results[0]
    const second = (await ingest([{ source: 'notes/bread.md', text: 'New notes about bread.' }])).json()
      .results[0]
    expect(second).toMatchObject({ id: first.id, status: 'updated' })
    expect((await harness.app.inject({ url: '/documents' })).json().total).toBe(1)
  })

  it('applies a batch that names one id twice in order: the last version stays, with its chunks alone', async () => {
    const response = await ingest([
      { id: 'bread', text: paragraphs.join('\n\n') },
      { id: 'tea', text: 'Green tea is steamed.' },
      { id: 'bread', text: 'Rye bread is dense.' },
      { id: 'bread', text: 'Rye bread is dense.' },
    ])
    expect(response.statusCode).toBe(200)
    expect(response.json().results.map((result: { id: string; status: string }) => result)).toMatchObject([
      { id: 'bread', status: 'created' },
      { id: 'tea', status: 'created' },
      { id: 'bread', status: 'updated', chunks: 1 },
      { id: 'bread', status: 'unchanged', chunks: 1 },
    ])
    const bread = (await harness.app.inject({ url: '/documents/bread' })).json()
    expect(bread.chunks.map((chunk: { id: string; text: string }) => [chunk.id, chunk.text])).toEqual([
      ['bread:0', 'Rye bread is dense.'],
    ])
    expect((await harness.app.inject({ url: '/documents' })).json().total).toBe(2)
  })

  it('answers 502 without storing anything when the embedding model refuses our key', async () => {
    rag.upstream.reset(fixtureReply('openai-error-401'))
    const response = await ingest([{ id: 'bread', text: 'Some text.' }])
    expect(response.statusCode).toBe(502)
    expect(response.json()).toEqual({ detail: 'The AI provider refused the request' })
    expect((await harness.app.inject({ url: '/documents/bread' })).statusCode).toBe(404)
  })

  const invalid: [string, object, (string | number)[]][] = [
    ['empty text', { documents: [{ text: '' }] }, ['body', 'documents', 0, 'text']],
    ['blank text', { documents: [{ text: '  \n\t ' }] }, ['body', 'documents', 0, 'text']],
    ['missing text', { documents: [{ title: 'x' }] }, ['body', 'documents', 0, 'text']],
    ['no documents', { documents: [] }, ['body', 'documents']],
    [
      'more than 100 documents',
      { documents: Array.from({ length: 101 }, () => ({ text: 'x' })) },
      ['body', 'documents'],
    ],
    ['an id with a slash', { documents: [{ id: 'a/b', text: 'x' }] }, ['body', 'documents', 0, 'id']],
    [
      'a metadata value that is an object',
      { documents: [{ text: 'x', metadata: { a: { b: 1 } } }] },
      ['body', 'documents', 0, 'metadata', 'a'],
    ],
    [
      'a text over 2,000,000 characters',
      { documents: [{ text: 'x'.repeat(2_000_001) }] },
      ['body', 'documents', 0, 'text'],
    ],
  ]
  it.each(invalid)('%s is a 422 naming the field', async (_name, payload, loc) => {
    const response = await harness.app.inject({ method: 'POST', url: '/documents', payload })
    expect(response.statusCode).toBe(422)
    expect(response.json().detail[0].loc).toEqual(loc)
    expect(embeddingInputs()).toHaveLength(0)
  })

  it('a batch over INGEST_BODY_LIMIT_BYTES is a 413', async () => {
    const response = await ingest([{ text: 'x'.repeat(1_600_000) }, { text: 'y'.repeat(1_600_000) }])
    expect(response.statusCode).toBe(413)
  })
})

describe('reading and deleting documents', () => {
  beforeEach(async () => {
    await ingest([
      { id: 'c', text: 'Third.' },
      {
        id: 'a',
        text: '# Alpha\n\nFirst.',
        source: 'docs/a.md',
        metadata: { lang: 'en', year: 2026, draft: false },
      },
      { id: 'b', text: 'Second.' },
    ])
  })

  it('lists documents by id, a page at a time', async () => {
    const page = (await harness.app.inject({ url: '/documents?offset=1&limit=1' })).json()
    expect(page).toMatchObject({ total: 3, offset: 1, limit: 1 })
    expect(page.items.map((document: { id: string }) => document.id)).toEqual(['b'])
  })

  it('returns one document with its chunks', async () => {
    const response = await harness.app.inject({ url: '/documents/a' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      id: 'a',
      title: 'Alpha',
      source: 'docs/a.md',
      metadata: { lang: 'en', year: 2026, draft: false },
      chunk_count: 1,
      chunks: [{ id: 'a:0', index: 0, text: '# Alpha\n\nFirst.', token_count: expect.any(Number) }],
    })
  })

  it('deletes a document: 204, then 404', async () => {
    expect((await harness.app.inject({ method: 'DELETE', url: '/documents/a' })).statusCode).toBe(204)
    const again = await harness.app.inject({ method: 'DELETE', url: '/documents/a' })
    expect(again.statusCode).toBe(404)
    expect(again.json()).toEqual({ detail: "document 'a' not found" })
  })

  it('an unknown id is a 404', async () => {
    const response = await harness.app.inject({ url: '/documents/nope' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: "document 'nope' not found" })
  })

  it('a page size over 100 is a 422', async () => {
    expect((await harness.app.inject({ url: '/documents?limit=101' })).statusCode).toBe(422)
  })
})

describe('document ids', () => {
  const longest = documentIdSchema.maxLength ?? 0
  const path = (id: string) => `/documents/${encodeURIComponent(id)}`

  it('accepts the longest id on every route: create, get, list, delete (ids of 101 to 256 characters were 414s)', async () => {
    expect(longest).toBe(256)
    // Spaces and a non-ASCII letter: the percent-encoded path is longer than the id.
    for (const id of ['x'.repeat(101), `${'é '.repeat(longest / 2 - 1)}id`]) {
      expect(id.length <= longest, id).toBe(true)
      const created = await ingest([{ id, text: 'A long id still names one document.' }])
      expect(created.statusCode, id).toBe(200)
      expect(created.json().results[0]).toMatchObject({ id, status: 'created' })
      const got = await harness.app.inject({ url: path(id) })
      expect(got.statusCode, id).toBe(200)
      expect(got.json().id).toBe(id)
      const listed = (await harness.app.inject({ url: '/documents' })).json()
      expect(listed.items.map((document: { id: string }) => document.id)).toContain(id)
      expect((await harness.app.inject({ method: 'DELETE', url: path(id) })).statusCode, id).toBe(204)
      expect((await harness.app.inject({ url: path(id) })).statusCode, id).toBe(404)
    }
  })

  it('refuses an id one character over the limit with a 422 naming the field, on every route', async () => {
    const id = 'x'.repeat(longest + 1)
    const created = await ingest([{ id, text: 'Too long an id.' }])
    expect(created.statusCode).toBe(422)
    expect(created.json().detail[0]).toMatchObject({ loc: ['body', 'documents', 0, 'id'] })
    for (const method of ['GET', 'DELETE'] as const) {
      const response = await harness.app.inject({ method, url: path(id) })
      expect(response.statusCode, method).toBe(422)
      expect(response.json().detail[0], method).toMatchObject({ loc: ['path', 'id'] })
    }
    expect((await harness.app.inject({ url: '/documents' })).json().total).toBe(0)
  })
})

describe('the store and the configured embeddings', () => {
  it('answers 503 naming the problem when the store was built with another embedding width', async () => {
    await ingest([{ id: 'a', text: 'Something.' }])
    const other = await buildTestApp(
      testConfig({
        OPENAI_BASE_URL: rag.upstream.url,
        ...ragEnvironment(rag.directory),
        EMBEDDING_DIMENSIONS: '32',
      }),
    )
    others.push(other)
    const response = await other.app.inject({ url: '/documents' })
    expect(response.statusCode).toBe(503)
    expect(response.json().detail).toMatch(
      /built with embeddings openai:text-embedding-3-small \(64 dimensions\)/,
    )
  })

  it('works without any embedding model: nothing is sent upstream', async () => {
    const keywordOnly = await buildTestApp(
      testConfig({ OPENAI_BASE_URL: rag.upstream.url, RAG_DATA_DIR: join(rag.directory, 'kw') }),
    )
    others.push(keywordOnly)
    const response = await keywordOnly.app.inject({
      method: 'POST',
      url: '/documents',
      payload: { documents: [{ text: 'Plain text.' }] },
    })
    expect(response.json().results[0]).toMatchObject({ status: 'created', chunks: 1, embedded: 0 })
    expect(rag.upstream.received).toHaveLength(0)
  })
})
