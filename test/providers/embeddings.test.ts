import { Agent } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import { ModelNotFoundError, UpstreamUnavailableError } from '../../src/errors.js'
import { OllamaEmbedder, OpenAIEmbedder } from '../../src/providers/embeddings.js'
import { lexicalEmbedding } from '../fakes/lexical-embedding.js'
import { ollamaJsonReply } from '../fakes/ollama.js'
import { embeddingsReply } from '../fakes/openai.js'
import { FakeUpstream } from '../fakes/upstream.js'
import { readFixture } from '../fixtures.js'

const call = { signal: new Cancellation().signal, requestId: 'embeddings-test' }
let upstream: FakeUpstream
let dispatcher: Agent

beforeAll(async () => {
  upstream = await FakeUpstream.start({ defaultReply: { kind: 'stall' } })
  dispatcher = new Agent()
})
afterAll(async () => {
  await dispatcher.close()
  await upstream.close()
})
beforeEach(() => upstream.reset())

/** The app's defaults, but a short timeout. */
const endpoint = () => ({
  timeoutMs: 2_000,
  dispatcher,
  maxAnswerBytes: 16_777_216,
  maxEventBytes: 8_388_608,
})

const openai = () => ({
  apiKey: 'sk-test-embeddings',
  baseURL: `${upstream.url}/v1`,
  ...endpoint(),
})

describe('OpenAI embedder', () => {
  it('decodes the base64 vectors it asks for, in input order', async () => {
    upstream.reset({ kind: 'dynamic', respond: (request) => embeddingsReply(request) })
    const vectors = await new OpenAIEmbedder(openai(), 'text-embedding-3-small', 1536).embed(
      ['alpha', 'beta'],
      call,
    )
    expect(vectors.map((vector) => Array.from(vector))).toEqual(
      ['alpha', 'beta'].map((text) => Array.from(lexicalEmbedding(text, 1536))),
    )
    expect(upstream.received[0]?.json).toEqual({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta'],
      encoding_format: 'base64',
    })
  })

  it('asks for shorter vectors only when the width is not the model’s own', async () => {
    upstream.reset({ kind: 'dynamic', respond: (request) => embeddingsReply(request) })
    const vectors = await new OpenAIEmbedder(openai(), 'text-embedding-3-large', 256).embed(['alpha'], call)
    expect(vectors[0]).toHaveLength(256)
    expect(upstream.received[0]?.json?.dimensions).toBe(256)
  })

  it('reads the recorded float response too', async () => {
    upstream.reset({
      kind: 'json',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: readFixture('openai-embeddings.json'),
    })
    const vectors = await new OpenAIEmbedder(openai(), 'text-embedding-3-small', 8).embed(
      ['one', 'two'],
      call,
    )
    expect(vectors).toHaveLength(2)
    expect(vectors[0]?.[0]).toBeCloseTo(
      JSON.parse(readFixture('openai-embeddings.json')).data[0].embedding[0],
      6,
    )
  })

  it('refuses vectors of another width than configured, instead of storing them', async () => {
    upstream.reset({ kind: 'dynamic', respond: (request) => embeddingsReply(request, 512) })
    const embedding = new OpenAIEmbedder(openai(), 'text-embedding-3-small', 1536).embed(['alpha'], call)
    await expect(embedding).rejects.toBeInstanceOf(UpstreamUnavailableError)
    await expect(embedding).rejects.toMatchObject({
      isRetryable: false,
      logDetail: expect.stringContaining('512-dimensional'),
    })
  })
})

describe('OpenAI embedder, malformed answers', () => {
  const reply = (body: unknown, status = 200) =>
    upstream.reset({
      kind: 'json',
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  it('refuses base64 that is not whole float32 values', async () => {
    reply({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: 'AAAAAAA=' }] })
    const embedding = new OpenAIEmbedder(openai(), 'text-embedding-3-small', 1536).embed(['alpha'], call)
    await expect(embedding).rejects.toBeInstanceOf(UpstreamUnavailableError)
  })

  it('a 200 whose body is not JSON is the upstream failing, not a crash', async () => {
    upstream.reset({ kind: 'json', status: 200, headers: { 'content-type': 'text/html' }, body: '<html>' })
    const embedding = new OpenAIEmbedder(openai(), 'text-embedding-3-small', 1536).embed(['alpha'], call)
    await expect(embedding).rejects.toBeInstanceOf(UpstreamUnavailableError)
  })

  it("an unknown model is ModelNotFoundError naming it, from OpenAI's 404", async () => {
    reply(
      {
        error: {
          message: 'The model `text-embedding-9` does not exist',
          type: 'invalid_request_error',
          code: 'model_not_found',
        },
      },
      404,
    )
    const embedding = new OpenAIEmbedder(openai(), 'text-embedding-9', 1536).embed(['alpha'], call)
    await expect(embedding).rejects.toBeInstanceOf(ModelNotFoundError)
  })
})

describe('Ollama embedder', () => {
  const ollama = () => ({ host: upstream.url, ...endpoint() })

  it('posts the texts to /api/embed and returns its vectors', async () => {
    upstream.reset(ollamaJsonReply('ollama-embed.json'))
    const vectors = await new OllamaEmbedder(ollama(), 'nomic-embed-text', 8).embed(['first', 'second'], call)
    expect(upstream.received[0]?.url).toBe('/api/embed')
    expect(upstream.received[0]?.json).toEqual({
      model: 'nomic-embed-text',
      input: ['first', 'second'],
      truncate: true,
    })
    expect(vectors.map((vector) => Array.from(vector))).toEqual(
      JSON.parse(readFixture('ollama-embed.json')).embeddings.map((vector: number[]) =>
        Array.from(Float32Array.from(vector)),
      ),
    )
  })

  it("an unknown model is ModelNotFoundError naming it, from Ollama's 404", async () => {
    upstream.reset(ollamaJsonReply('ollama-error-404.json', 404))
    const embedding = new OllamaEmbedder(ollama(), 'llama9', 8).embed(['x'], call)
    await expect(embedding).rejects.toBeInstanceOf(ModelNotFoundError)
    await expect(embedding).rejects.toMatchObject({ statusCode: 404, message: "model 'llama9' not found" })
  })

  it('refuses a vector count that does not match the texts', async () => {
    upstream.reset(ollamaJsonReply('ollama-embed.json'))
    await expect(
      new OllamaEmbedder(ollama(), 'nomic-embed-text', 8).embed(['only one'], call),
    ).rejects.toBeInstanceOf(UpstreamUnavailableError)
  })
})
