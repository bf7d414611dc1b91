import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import { UpstreamUnavailableError } from '../../src/errors.js'
import type { Embedder } from '../../src/providers/embeddings.js'
import { EmbeddingCache, textHash } from '../../src/rag/embedding-cache.js'
import { lexicalEmbedding } from '../fakes/lexical-embedding.js'

/** An embedder that records every batch it is asked for, and can be told to fail or wait. */
class RecordingEmbedder implements Embedder {
  readonly space = { model: 'test:lexical', dimensions: 16 }
  readonly batches: string[][] = []
  failNext = false
  gate: Promise<void> = Promise.resolve()

  async embed(texts: string[]): Promise<Float32Array[]> {
    this.batches.push(texts)
    await this.gate
    if (this.failNext) {
      this.failNext = false
      throw new UpstreamUnavailableError()
    }
    return texts.map((text) => lexicalEmbedding(text, 16))
  }
}

const call = { signal: new Cancellation().signal, requestId: 'test' }

describe('embedding cache', () => {
  it('sends only the texts it has not seen, item by item within a batch', async () => {
    const embedder = new RecordingEmbedder()
    const cache = new EmbeddingCache(embedder, { capacity: 100 })
    await cache.embed(['alpha', 'beta'], call)
    const report = await cache.embed(['beta', 'gamma', 'alpha'], call)
    expect(embedder.batches).toEqual([['alpha', 'beta'], ['gamma']])
    expect(report).toMatchObject({ embedded: 1, fromCache: 2 })
    expect(report.vectors.map((vector) => Array.from(vector))).toEqual(
      ['beta', 'gamma', 'alpha'].map((text) => Array.from(lexicalEmbedding(text, 16))),
    )
  })

  it('sends a text repeated within one call once', async () => {
    const embedder = new RecordingEmbedder()
    const report = await new EmbeddingCache(embedder, { capacity: 100 }).embed(
      ['same', 'same', 'other'],
      call,
    )
    expect(embedder.batches).toEqual([['same', 'other']])
    expect(report.vectors[0]).toBe(report.vectors[1])
  })

  it('lets identical concurrent calls share one upstream call', async () => {
    const embedder = new RecordingEmbedder()
    let open = () => {}
    embedder.gate = new Promise((resolve) => {
      open = resolve
    })
    const cache = new EmbeddingCache(embedder, { capacity: 100 })
    const calls = [
      cache.embed(['shared text'], call),
      cache.embed(['shared text'], call),
      cache.embed(['shared text'], call),
    ]
    open()
    const reports = await Promise.all(calls)
    expect(embedder.batches).toEqual([['shared text']])
    expect(reports.map((report) => report.embedded)).toEqual([1, 0, 0])
  })

  it('uses vectors already in the store before asking the model', async () => {
    const embedder = new RecordingEmbedder()
    const stored = lexicalEmbedding('stored', 16)
    const store = {
      vectorsByHash: async (hashes: string[]) =>
        new Map(hashes.filter((hash) => hash === textHash('stored')).map((hash) => [hash, stored])),
    }
    const report = await new EmbeddingCache(embedder, { capacity: 0, store }).embed(['stored', 'fresh'], call)
    expect(embedder.batches).toEqual([['fresh']])
    expect(report.vectors[0]).toBe(stored)
    expect(report).toMatchObject({ embedded: 1, fromCache: 1 })
  })

  it('does not cache a failure: the next call asks again', async () => {
    const embedder = new RecordingEmbedder()
    const cache = new EmbeddingCache(embedder, { capacity: 100 })
    embedder.failNext = true
    await expect(cache.embed(['flaky'], call)).rejects.toBeInstanceOf(UpstreamUnavailableError)
    await expect(cache.embed(['flaky'], call)).resolves.toMatchObject({ embedded: 1 })
    expect(embedder.batches).toEqual([['flaky'], ['flaky']])
  })

  it('forgets the least recently used vectors beyond its capacity', async () => {
    const embedder = new RecordingEmbedder()
    const cache = new EmbeddingCache(embedder, { capacity: 2 })
    await cache.embed(['one', 'two'], call)
    await cache.embed(['one'], call)
    await cache.embed(['three'], call)
    await cache.embed(['one', 'two'], call)
    expect(embedder.batches).toEqual([['one', 'two'], ['three'], ['two']])
  })
})
