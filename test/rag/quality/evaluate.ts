import { Cancellation } from '../../../src/cancellation.js'
import type { Embedder } from '../../../src/providers/embeddings.js'
import { EmbeddingCache } from '../../../src/rag/embedding-cache.js'
import { Ingestor } from '../../../src/rag/ingest.js'
import { retrieve } from '../../../src/rag/retrieve.js'
import type { DocumentStore } from '../../../src/rag/types.js'
import { lexicalEmbedding } from '../../fakes/lexical-embedding.js'
import type { Corpus } from './corpora.js'

const call = { signal: new Cancellation().signal, requestId: 'quality' }

/** The stand-in embedding model of the tests (no real one can be downloaded here). */
const lexical: Embedder = {
  space: { model: 'test:lexical-256', dimensions: 256 },
  embed: async (texts) => texts.map((text) => lexicalEmbedding(text, 256)),
}

/**
 * The fake model's cosine for unrelated texts: its best passage for the no-answer questions scored 0.16 to
 * 0.45 on both corpora (hashed trigrams make any two English texts alike), its answering passage 0.21 to 0.65.
 */
const LEXICAL_UNRELATED_COSINE = 0.45

export type Mode = 'keyword' | 'hybrid'

/** A store holding one corpus, searched in one mode. */
export interface Searchable {
  store: DocumentStore
  embeddings: EmbeddingCache | undefined
}

/** Opens `store` for `mode` and ingests the corpus as the server would (its default chunk sizes). */
export async function ingestCorpus(store: DocumentStore, corpus: Corpus, mode: Mode): Promise<Searchable> {
  const embeddings =
    mode === 'hybrid'
      ? new EmbeddingCache(lexical, { capacity: 0, unrelatedCosine: LEXICAL_UNRELATED_COSINE })
      : undefined
  await store.open(embeddings?.space ?? { model: 'none', dimensions: 0 })
  const ingestor = new Ingestor(store, embeddings, { maxTokens: 400, overlapTokens: 60 })
  await ingestor.ingestMany(await corpus.documents(), call)
  await store.optimize()
  return { store, embeddings }
}

export interface Quality {
  /** Share of questions with an answering document in the top 5. */
  recallAt5: number
  /** Mean reciprocal rank of the first answering document in the top 5 (0 when absent). */
  mrr: number
  /** The questions whose answer was not in the top 5. */
  misses: string[]
  /** The score of the best answering passage of each question (0 when none was retrieved). */
  answerScores: number[]
}

/** Recall@5 and MRR@5 of the questions, retrieving 5 (RAG_TOP_K's default) with `minScore` as the server would. */
export async function measure(
  { store, embeddings }: Searchable,
  questions: { question: string; documents: string[] }[],
  minScore: number,
): Promise<Quality> {
  let found = 0
  let reciprocal = 0
  const misses: string[] = []
  const answerScores: number[] = []
  for (const { question, documents } of questions) {
    const hits = await retrieve(store, embeddings, question, { topK: 5, minScore }, call)
    const rank = hits.findIndex((hit) => documents.includes(hit.document.id))
    answerScores.push(hits[rank]?.score ?? 0)
    if (rank >= 0) found++
    else misses.push(question)
    if (rank >= 0) reciprocal += 1 / (rank + 1)
  }
  return { recallAt5: found / questions.length, mrr: reciprocal / questions.length, misses, answerScores }
}

/** The questions given at least one passage at `minScore`, with the best passage's score. */
export async function answered({ store, embeddings }: Searchable, questions: string[], minScore: number) {
  const given: { question: string; score: number }[] = []
  for (const question of questions) {
    const [best] = await retrieve(store, embeddings, question, { topK: 5, minScore }, call)
    if (best) given.push({ question, score: best.score })
  }
  return given
}
