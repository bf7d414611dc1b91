import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import type { Embedder } from '../../src/providers/embeddings.js'
import { EmbeddingCache } from '../../src/rag/embedding-cache.js'
import { Ingestor } from '../../src/rag/ingest.js'
import { retrieve } from '../../src/rag/retrieve.js'
import { loadLanceStore } from '../../src/rag/stores/lancedb/load.js'
import { lexicalEmbedding } from '../fakes/lexical-embedding.js'
import { testConfig } from '../helpers.js'

const { LanceStore } = await loadLanceStore(testConfig())

const CORPUS = fileURLToPath(new URL('../fixtures/rag-corpus/', import.meta.url))
const call = { signal: new Cancellation().signal, requestId: 'quality' }

/** The stand-in embedding model of the tests (no real one can be downloaded here). */
const lexical: Embedder = {
  space: { model: 'test:lexical-256', dimensions: 256 },
  embed: async (texts) => texts.map((text) => lexicalEmbedding(text, 256)),
}

interface Question {
  question: string
  document: string
}

async function recallAt5(embeddings: EmbeddingCache | undefined, directory: string, questions: Question[]) {
  const store = new LanceStore({ directory, maintenanceDelayMs: 0 })
  onTestFinished(() => store.close())
  await store.open(embeddings?.space ?? { model: 'none', dimensions: 0 })
  const ingestor = new Ingestor(store, embeddings, { maxTokens: 300, overlapTokens: 40 })
  for (const name of (await readdir(CORPUS)).filter((file) => file.endsWith('.md') && file !== 'README.md')) {
    const text = await readFile(join(CORPUS, name), 'utf8')
    await ingestor.ingest({ id: name.replace(/\.md$/, ''), text, source: name }, call)
  }
  await store.optimize()
  const found: boolean[] = []
  for (const { question, document } of questions) {
    const hits = await retrieve(store, embeddings, question, { topK: 5 }, call)
    found.push(hits.some((hit) => hit.document.id === document))
  }
  return found
}

/** questions.json holds 20 worded like their document, 25 paraphrased, then 15 keyword queries. */
const STYLES = { worded: [0, 20], paraphrased: [20, 45], keywords: [45, 60] } as const

function recall(found: boolean[], [start, end]: readonly [number, number] = [0, found.length]) {
  const slice = found.slice(start, end)
  return slice.filter(Boolean).length / slice.length
}

function describeRecall(found: boolean[]) {
  const styles = Object.entries(STYLES).map(([name, range]) => `${name} ${recall(found, range).toFixed(2)}`)
  return `${recall(found).toFixed(3)} (${styles.join(', ')})`
}

describe('retrieval quality on the evaluation corpus (recall@5)', () => {
  let questions: Question[]
  let directory: string
  beforeAll(async () => {
    questions = JSON.parse(await readFile(join(CORPUS, 'questions.json'), 'utf8'))
    directory = await mkdtemp(join(tmpdir(), 'quality-'))
  })
  afterAll(() => rm(directory, { recursive: true, force: true }))

  it('finds the right document in the top 5 for most questions, keyword-only and hybrid', async () => {
    const keyword = await recallAt5(undefined, join(directory, 'keyword'), questions)
    const hybrid = await recallAt5(
      new EmbeddingCache(lexical, { capacity: 0 }),
      join(directory, 'hybrid'),
      questions,
    )
    console.info(`recall@5 over ${questions.length} questions: keyword-only ${describeRecall(keyword)}`)
    console.info(`recall@5 over ${questions.length} questions: hybrid ${describeRecall(hybrid)}`)
    expect(recall(keyword)).toBeGreaterThanOrEqual(0.8)
    expect(recall(hybrid)).toBeGreaterThanOrEqual(0.8)
  }, 60_000)
})
