import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EmbeddingSpace } from '../../../src/providers/embeddings.js'
import {
  type DocumentStore,
  EmbeddingMismatchError,
  type Metadata,
  type StoredChunk,
  type StoredDocument,
} from '../../../src/rag/types.js'

/** How the contract suite gets stores of one adapter. */
export interface StoreHarness {
  /** A new store object over this harness's storage (call again to "reopen" the same data). */
  create(): DocumentStore
  /** Drops all storage; called after each test. */
  destroy(): Promise<void>
}

const DIMENSIONS = 8
const SPACE: EmbeddingSpace = { model: 'test:unit-vectors', dimensions: DIMENSIONS }

const hash = (text: string) => createHash('sha256').update(text).digest('hex')

/** A unit vector pointing mostly along `axis`, with a little of `lean`. */
export function unitVector(axis: number, lean = -1, amount = 0.2): Float32Array {
  const vector = new Float32Array(DIMENSIONS)
  vector[axis % DIMENSIONS] = 1
  if (lean >= 0) vector[lean % DIMENSIONS] = amount
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

export function makeDocument(id: string, texts: string[], extra: Partial<StoredDocument> = {}) {
  const now = new Date('2026-11-26T12:00:00Z').toISOString()
  const document: StoredDocument = {
    id,
    title: `Title of ${id}`,
    source: `docs/${id}.md`,
    metadata: {},
    textHash: hash(texts.join('\n')),
    chunkCount: texts.length,
    createdAt: now,
    updatedAt: now,
    ...extra,
  }
  const chunks: StoredChunk[] = texts.map((text, index) => ({
    id: `${id}:${index}`,
    documentId: id,
    index,
    text,
    textHash: hash(text),
    tokenCount: text.split(/\s+/).length,
  }))
  return { document, chunks }
}

/** Gives each chunk a vector along its own axis, leaning towards the next. */
function withVectors(chunks: StoredChunk[], firstAxis: number): StoredChunk[] {
  return chunks.map((chunk, index) => ({
    ...chunk,
    vector: unitVector(firstAxis + index, firstAxis + index + 1),
  }))
}

/** The behaviour every DocumentStore adapter must have. */
export function describeStoreContract(name: string, makeHarness: () => Promise<StoreHarness>) {
  describe(`${name} document store contract`, () => {
    let harness: StoreHarness
    let store: DocumentStore

    beforeEach(async () => {
      harness = await makeHarness()
      store = harness.create()
      await store.open(SPACE)
    })
    afterEach(async () => {
      await store.close()
      await harness.destroy()
    })

    const seed = async () => {
      const solar = makeDocument(
        'solar',
        [
          'Photovoltaic panels convert sunlight into electricity.',
          'Inverters turn direct current into alternating current.',
        ],
        {
          metadata: { topic: 'energy', year: 2024, reviewed: true },
        },
      )
      const bread = makeDocument('bread', ['Sourdough bread rises with wild yeast and lactobacilli.'], {
        metadata: { topic: 'cooking', year: 2023, reviewed: false },
      })
      await store.upsert(solar.document, withVectors(solar.chunks, 0))
      await store.upsert(bread.document, withVectors(bread.chunks, 4))
      return { solar, bread }
    }

    it('gets a document and its chunks in order, without vectors', async () => {
      const { solar } = await seed()
      expect(await store.get('solar')).toEqual(solar.document)
      const chunks = await store.chunks('solar')
      expect(chunks.map((chunk) => chunk.id)).toEqual(['solar:0', 'solar:1'])
      expect(chunks[0]).toEqual(solar.chunks[0])
      expect(chunks[0]).not.toHaveProperty('vector')
    })

    it('gets the documents of several ids in one call, leaving out the unknown ones', async () => {
      const { solar, bread } = await seed()
      const found = await store.getMany(['bread', 'nope', "it's", 'solar'])
      expect(found.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([bread.document, solar.document])
      expect(await store.getMany([])).toEqual([])
    })

    it('answers undefined and empty for an unknown id', async () => {
      expect(await store.get('nope')).toBeUndefined()
      expect(await store.chunks('nope')).toEqual([])
      expect(await store.delete('nope')).toBe(false)
    })

    it('replaces a document and all its old chunks on upsert', async () => {
      await seed()
      const replaced = makeDocument('solar', ['Wind turbines spin in the breeze.'], { title: 'Wind' })
      await store.upsert(replaced.document, withVectors(replaced.chunks, 2))
      expect((await store.get('solar'))?.title).toBe('Wind')
      expect((await store.chunks('solar')).map((chunk) => chunk.text)).toEqual([
        'Wind turbines spin in the breeze.',
      ])
      expect(await store.searchKeyword('photovoltaic', { topK: 5 })).toEqual([])
    })

    it('writes a batch of documents at once, replacing and trimming the ones it already had', async () => {
      await seed()
      const solar = makeDocument('solar', ['Wind turbines spin in the breeze.'])
      const tea = makeDocument('tea', ['Green tea is steamed.', 'Black tea is oxidised.'])
      await store.upsertMany([
        { document: solar.document, chunks: withVectors(solar.chunks, 2) },
        { document: tea.document, chunks: withVectors(tea.chunks, 5) },
      ])
      expect((await store.chunks('solar')).map((chunk) => chunk.id)).toEqual(['solar:0'])
      expect((await store.chunks('tea')).map((chunk) => chunk.id)).toEqual(['tea:0', 'tea:1'])
      expect((await store.list({ offset: 0, limit: 10 })).items.map((document) => document.id)).toEqual([
        'bread',
        'solar',
        'tea',
      ])
      expect((await store.searchKeyword('oxidised', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual([
        'tea:1',
      ])
      await store.upsertMany([])
    })

    it('lists documents by id, paged, with the total', async () => {
      await seed()
      await store.upsert(
        makeDocument('apple', ['An apple a day.']).document,
        withVectors(makeDocument('apple', ['An apple a day.']).chunks, 6),
      )
      const first = await store.list({ offset: 0, limit: 2 })
      expect(first.total).toBe(3)
      expect(first.items.map((document) => document.id)).toEqual(['apple', 'bread'])
      const second = await store.list({ offset: 2, limit: 2 })
      expect(second.items.map((document) => document.id)).toEqual(['solar'])
    })

    it('deletes a document with its chunks', async () => {
      await seed()
      expect(await store.delete('solar')).toBe(true)
      expect(await store.get('solar')).toBeUndefined()
      expect(await store.chunks('solar')).toEqual([])
      const hits = await store.searchVector(unitVector(0), { topK: 5 })
      expect(hits.map((hit) => hit.document.id)).toEqual(['bread'])
    })

    it('returns stored vectors by chunk text hash', async () => {
      const { solar } = await seed()
      const wanted = solar.chunks[1]?.textHash ?? ''
      const found = await store.vectorsByHash([wanted, hash('never stored')])
      expect([...found.keys()]).toEqual([wanted])
      expect(Array.from(found.get(wanted) ?? [])).toEqual(Array.from(unitVector(1, 2)))
    })

    it('finds the nearest chunks by cosine similarity, best first, at most topK', async () => {
      await seed()
      const hits = await store.searchVector(unitVector(1, 2), { topK: 2 })
      expect(hits.map((hit) => hit.chunk.id)).toEqual(['solar:1', 'solar:0'])
      expect(hits[0]?.score).toBeCloseTo(1, 4)
      expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? 1)
      expect(hits[0]?.document).toEqual({
        id: 'solar',
        title: 'Title of solar',
        source: 'docs/solar.md',
        metadata: { topic: 'energy', year: 2024, reviewed: true },
      })
      expect(hits[0]?.chunk).not.toHaveProperty('vector')
    })

    it('filters vector and keyword search by exact metadata values of every type', async () => {
      await seed()
      const filters: Metadata[] = [
        { topic: 'cooking' },
        { year: 2023 },
        { reviewed: false },
        { topic: 'cooking', year: 2023 },
      ]
      for (const filter of filters) {
        const vectorHits = await store.searchVector(unitVector(0), { topK: 5, filter })
        expect(
          vectorHits.map((hit) => hit.document.id),
          JSON.stringify(filter),
        ).toEqual(['bread'])
      }
      expect(await store.searchKeyword('sourdough', { topK: 5, filter: { topic: 'energy' } })).toEqual([])
      expect(
        await store.searchVector(unitVector(0), { topK: 5, filter: { topic: 'energy', year: 1999 } }),
      ).toEqual([])
    })

    it('finds chunks by their words with full-text search', async () => {
      await seed()
      const hits = await store.searchKeyword('sunlight electricity', { topK: 5 })
      expect(hits[0]?.chunk.id).toBe('solar:0')
      expect(hits[0]?.score).toBeGreaterThan(0)
      expect((await store.searchKeyword('yeast', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual([
        'bread:0',
      ])
      expect(await store.searchKeyword('zeppelin', { topK: 5 })).toEqual([])
    })

    it('matches any word of a keyword query, ranking chunks that match more words first', async () => {
      await seed()
      const hits = await store.searchKeyword('how do inverters turn sunlight into electricity', { topK: 5 })
      expect(hits.map((hit) => hit.chunk.id)).toEqual(['solar:0', 'solar:1'])
      expect(
        (await store.searchKeyword('sourdough zeppelin', { topK: 5 })).map((hit) => hit.chunk.id),
      ).toEqual(['bread:0'])
    })

    it('ranks a chunk with the rare word of a keyword query above chunks with its common word', async () => {
      // Retrieval scores only the engine's candidates: a word every chunk has must not crowd out the rare
      // one (PostgreSQL's ts_rank_cd alone did, in the Fastify docs: "fastify" over "http2").
      for (let index = 0; index < 12; index++) {
        const common = makeDocument(`common-${index}`, [
          `Fastify routes, Fastify hooks and Fastify plugins ${index}.`,
        ])
        await store.upsert(common.document, withVectors(common.chunks, index))
      }
      const rare = makeDocument('rare', ['Fastify serves http2 too.'])
      await store.upsert(rare.document, withVectors(rare.chunks, 0))
      await store.optimize()
      const hits = await store.searchKeyword('fastify http2', { topK: 5 })
      expect(hits[0]?.chunk.id).toBe('rare:0')
    })

    it('takes any user text as a keyword query without error', async () => {
      await seed()
      for (const query of [
        '"unbalanced (quote',
        "'; DROP TABLE chunks; --",
        'AND OR NOT',
        '***',
        '',
        'café—naïve ☃ 日本語',
      ]) {
        await expect(store.searchKeyword(query, { topK: 5 }), query).resolves.toBeInstanceOf(Array)
      }
    })

    it('matches the words of a double-quoted phrase as any other words, not as a phrase', async () => {
      await seed()
      // "yeast wild" is not a phrase of the text: only a word match finds the bread chunk.
      for (const query of ['"yeast wild"', 'sourdough "wild yeast"']) {
        expect(
          (await store.searchKeyword(query, { topK: 5 })).map((hit) => hit.chunk.id),
          query,
        ).toEqual(['bread:0'])
      }
    })

    it('finds accented words', async () => {
      const cafe = makeDocument('cafe', ['Le café crème se boit au comptoir.'])
      await store.upsert(cafe.document, withVectors(cafe.chunks, 3))
      expect((await store.searchKeyword('café', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual(['cafe:0'])
    })

    it('keeps searching right after optimize()', async () => {
      await seed()
      await store.optimize()
      expect((await store.searchKeyword('yeast', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual([
        'bread:0',
      ])
      expect((await store.searchVector(unitVector(4), { topK: 1 })).map((hit) => hit.chunk.id)).toEqual([
        'bread:0',
      ])
    })

    it('keeps its data when closed and opened again', async () => {
      await seed()
      await store.close()
      store = harness.create()
      await store.open(SPACE)
      expect((await store.get('bread'))?.title).toBe('Title of bread')
      expect((await store.searchKeyword('yeast', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual([
        'bread:0',
      ])
    })

    it('answers a ping once open, and rejects one after close (readiness)', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
      await store.close()
      await expect(store.ping()).rejects.toThrow()
      store = harness.create()
      await store.open(SPACE)
    })

    it('refuses to open with another embedding model or dimension', async () => {
      await seed()
      await store.close()
      store = harness.create()
      await expect(store.open({ model: 'other:model', dimensions: DIMENSIONS })).rejects.toBeInstanceOf(
        EmbeddingMismatchError,
      )
      store = harness.create()
      await expect(store.open({ model: SPACE.model, dimensions: 16 })).rejects.toBeInstanceOf(
        EmbeddingMismatchError,
      )
      store = harness.create()
      await store.open(SPACE)
    })
  })

  describe(`${name} document store without embeddings`, () => {
    let harness: StoreHarness
    let store: DocumentStore

    beforeEach(async () => {
      harness = await makeHarness()
      store = harness.create()
      await store.open({ model: 'none', dimensions: 0 })
    })
    afterEach(async () => {
      await store.close()
      await harness.destroy()
    })

    it('stores chunks without vectors and searches them by keyword', async () => {
      const bread = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
      await store.upsert(bread.document, bread.chunks)
      expect((await store.searchKeyword('yeast', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual([
        'bread:0',
      ])
      expect(await store.vectorsByHash([bread.chunks[0]?.textHash ?? ''])).toEqual(new Map())
    })
  })
}
