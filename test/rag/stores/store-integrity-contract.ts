import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EmbeddingSpace } from '../../../src/providers/embeddings.js'
import type { DocumentStore, StoredChunk } from '../../../src/rag/types.js'
import { makeDocument, type StoreHarness, unitVector } from './store-contract.js'

const SPACE: EmbeddingSpace = { model: 'test:unit-vectors', dimensions: 8 }

/** Long enough for the rounds below on this 2-core machine; they prove order, not speed. */
const SLOW_TEST_MS = 120_000

/** Version `version` of document `id`: `version + 1` chunks, so leftovers of another version show. */
function versionOf(id: string, version: number) {
  const texts = Array.from(
    { length: version + 1 },
    (_, index) => `Version ${version} of ${id}, part ${index}: kneading develops gluten.`,
  )
  const { document, chunks } = makeDocument(id, texts)
  return { document, chunks: withVector(chunks, version) }
}

const withVector = (chunks: StoredChunk[], axis: number) =>
  chunks.map((chunk) => ({ ...chunk, vector: unitVector(axis) }))

/** Words no other document shares, so a search for them names one document. */
const sourdough = () => {
  const { document, chunks } = makeDocument('sourdough', ['# Sourdough\n\nSourdough rises with wild yeast.'])
  return { document, chunks: withVector(chunks, 7) }
}

/**
 * A unit vector in any direction, distinct per seed: an approximate (HNSW) index over many equal vectors
 * cannot find its way to a vector away from them, and would fail these tests for a reason of its own.
 */
function spread(seed: number): Float32Array {
  const vector = Float32Array.from({ length: SPACE.dimensions }, (_, axis) =>
    Math.sin(seed * 12.9898 + axis * 78.233),
  )
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

const VOCABULARY = ['pipeline', 'gateway', 'replica', 'ledger', 'socket', 'cursor', 'schema', 'quota']

/** `documents` documents of `chunksEach` chunks on other topics, written in batches as ingestion does. */
async function fill(store: DocumentStore, documents: number, chunksEach: number): Promise<void> {
  for (let start = 0; start < documents; start += 50) {
    const batch = Array.from({ length: Math.min(50, documents - start) }, (_, offset) => {
      const number = start + offset
      const texts = Array.from(
        { length: chunksEach },
        (_, index) =>
          `Note ${number}.${index}: the ${VOCABULARY[number % 8]} keeps a ${VOCABULARY[index % 8]} ` +
          `for each ${VOCABULARY[(number + index) % 8]} it serves.`,
      )
      const { document, chunks } = makeDocument(`note-${number}`, texts)
      return {
        document,
        chunks: chunks.map((chunk, index) => ({ ...chunk, vector: spread(number * 10 + index) })),
      }
    })
    await store.upsertMany(batch)
  }
}

/**
 * Integrity under concurrency and read-your-writes: what every DocumentStore adapter must guarantee to
 * the routes that share it. Rounds and sizes are the (12): 8 writers x 30 rounds, 100 cycles.
 */
export function describeStoreIntegrity(name: string, makeHarness: () => Promise<StoreHarness>) {
  describe(`${name} document store integrity`, () => {
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

    it(
      'leaves exactly one version, whole, after 8 concurrent upserts of one id (30 rounds)',
      async () => {
        for (let round = 0; round < 30; round++) {
          const versions = Array.from({ length: 8 }, (_, version) => versionOf('bread', version))
          await Promise.all(versions.map(({ document, chunks }) => store.upsert(document, chunks)))
          const page = await store.list({ offset: 0, limit: 10 })
          expect(page.total, `round ${round}`).toBe(1)
          const stored = await store.get('bread')
          const winner = versions.find(({ document }) => document.textHash === stored?.textHash)
          expect(winner, `round ${round}: a version that was written`).toBeDefined()
          const chunks = await store.chunks('bread')
          expect(chunks, `round ${round}`).toEqual(winner?.chunks.map(({ vector, ...chunk }) => chunk))
          const hits = await store.searchKeyword('kneading gluten', { topK: 50 })
          expect(hits.map((hit) => hit.chunk.text).sort(), `round ${round}`).toEqual(
            winner?.chunks.map((chunk) => chunk.text).sort(),
          )
        }
      },
      SLOW_TEST_MS,
    )

    it('keeps every document of concurrent upserts of different ids', async () => {
      const documents = Array.from({ length: 8 }, (_, number) => versionOf(`loaf-${number}`, number % 3))
      await Promise.all(documents.map(({ document, chunks }) => store.upsert(document, chunks)))
      expect((await store.list({ offset: 0, limit: 20 })).total).toBe(8)
      for (const { document, chunks } of documents) {
        expect((await store.chunks(document.id)).map((chunk) => chunk.id)).toEqual(chunks.map(({ id }) => id))
      }
    })

    it('answers 6 concurrent first searches on a fresh store with one document', async () => {
      const { document, chunks } = sourdough()
      await store.upsert(document, chunks)
      const searches = Array.from({ length: 6 }, () => store.searchKeyword('sourdough yeast', { topK: 5 }))
      const results = await Promise.allSettled(searches)
      expect(results.map((result) => result.status)).toEqual(Array(6).fill('fulfilled'))
      for (const result of results) {
        expect(result.status === 'fulfilled' && result.value.map((hit) => hit.chunk.id)).toEqual([
          'sourdough:0',
        ])
      }
    })

    /** Deletes the stored sourdough, re-adds and searches at once, `cycles` times: searches see each write. */
    async function deleteReAddSearch(cycles: number) {
      const { document, chunks } = sourdough()
      for (let cycle = 0; cycle < cycles; cycle++) {
        expect(await store.delete('sourdough')).toBe(true)
        const afterDelete = await store.searchKeyword('How does sourdough rise?', { topK: 5 })
        expect(
          afterDelete.map((hit) => hit.document.id),
          `cycle ${cycle}: deleted`,
        ).not.toContain('sourdough')
        const nearest = await store.searchVector(unitVector(7), { topK: 1 })
        expect(
          nearest.map((hit) => hit.document.id),
          `cycle ${cycle}: deleted`,
        ).not.toContain('sourdough')
        await store.upsert(document, chunks)
        const afterAdd = await store.searchKeyword('How does sourdough rise?', { topK: 5 })
        expect(afterAdd[0]?.chunk.id, `cycle ${cycle}: re-added`).toBe('sourdough:0')
        const found = await store.searchVector(unitVector(7), { topK: 1 })
        expect(found[0]?.chunk.id, `cycle ${cycle}: re-added`).toBe('sourdough:0')
      }
    }

    it(
      'finds a document deleted and sent again at once, and never after its delete, on a one-document store (100 cycles)',
      async () => {
        const { document, chunks } = sourdough()
        await store.upsert(document, chunks)
        await store.optimize()
        await deleteReAddSearch(100)
      },
      SLOW_TEST_MS,
    )

    it(
      'does the same on a store of 3,000 chunks whose indexes are built (100 cycles)',
      async () => {
        await fill(store, 300, 10)
        const { document, chunks } = sourdough()
        await store.upsert(document, chunks)
        await store.optimize()
        await deleteReAddSearch(100)
      },
      SLOW_TEST_MS,
    )
  })
}
