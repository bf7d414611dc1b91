import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testConfig } from '../helpers.js'
import { type Corpus, fastifyCorpus, noAnswerQuestions, projectCorpus } from './quality/corpora.js'
import { answered, ingestCorpus, type Mode, measure, type Searchable } from './quality/evaluate.js'
import { lanceStores, postgresStores, type StoreFactory } from './quality/stores.js'

// Retrieval quality, per store, corpus and mode: recall@5 and MRR@5 of the questions with an answer,
// ranked (min_score 0) and as served (the default RAG_MIN_SCORE, README "Scores"), and the share of
// questions without an answer that get no passage at the default. The floors sit a few points under the
// figures in BENCHMARKS.md ("Retrieval quality"), so a change that loses answers fails here.
// QUALITY_DETAIL=1 prints the misses and scores.
const MIN_SCORE = testConfig().RAG_MIN_SCORE
/** [recall@5, MRR@5] at least, ranked and served, per corpus and mode (both stores). */
const FLOORS: Record<string, Record<Mode, { ranked: number[]; served: number[] }>> = {
  [projectCorpus.name]: {
    keyword: { ranked: [0.85, 0.78], served: [0.55, 0.55] },
    hybrid: { ranked: [0.85, 0.78], served: [0.55, 0.55] },
  },
  [fastifyCorpus.name]: {
    keyword: { ranked: [0.93, 0.78], served: [0.93, 0.78] },
    hybrid: { ranked: [0.93, 0.78], served: [0.93, 0.78] },
  },
}
/** Share of no-answer questions that must get no passage, per mode. */
const NO_ANSWER_FLOOR: Record<Mode, number> = { keyword: 1, hybrid: 1 }

const CORPORA = [projectCorpus, fastifyCorpus]
const MODES: Mode[] = ['keyword', 'hybrid']
const table: string[] = []

afterAll(() => {
  console.info(
    `retrieval quality, ranked (min_score 0) and served (the default min_score ${MIN_SCORE})\n` +
      '| store | corpus | mode | recall@5 ranked | MRR@5 ranked | recall@5 served | MRR@5 served | no-answer given none |\n' +
      '|---|---|---|---|---|---|---|---|\n' +
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
        expect(share, `${corpus.name}: ${JSON.stringify(given)}`).toBeGreaterThanOrEqual(
          NO_ANSWER_FLOOR[mode],
        )
      }
      table.push(
        `| ${factory.name} | no-answer (${questions.length} q) | ${mode} | | | | | ${shares.join('; ')} |`,
      )
    }, 60_000)

    for (const corpus of CORPORA) {
      it(`finds the answering document in the top 5, ${corpus.name}, ${mode}`, async () => {
        const searchable = searchables.get(key(corpus, mode)) as Searchable
        const questions = await corpus.questions()
        const ranked = await measure(searchable, questions, 0)
        const quality = await measure(searchable, questions, MIN_SCORE)
        const figures = [ranked.recallAt5, ranked.mrr, quality.recallAt5, quality.mrr].map((x) =>
          x.toFixed(3),
        )
        table.push(`| ${factory.name} | ${corpus.name} | ${mode} | ${figures.join(' | ')} | |`)
        if (process.env.QUALITY_DETAIL) {
          const scores = quality.answerScores.map((score) => score.toFixed(2))
          console.info(
            factory.name,
            corpus.name,
            mode,
            'misses',
            quality.misses,
            'answer scores',
            scores.join(' '),
          )
        }
        const floor = FLOORS[corpus.name]?.[mode] ?? { ranked: [1, 1], served: [1, 1] }
        const [rankedRecall, rankedMrr] = floor.ranked as [number, number]
        const [servedRecall, servedMrr] = floor.served as [number, number]
        expect(ranked.recallAt5, 'recall@5 ranked').toBeGreaterThanOrEqual(rankedRecall)
        expect(ranked.mrr, 'MRR@5 ranked').toBeGreaterThanOrEqual(rankedMrr)
        expect(quality.recallAt5, 'recall@5 at the default min_score').toBeGreaterThanOrEqual(servedRecall)
        expect(quality.mrr, 'MRR@5 at the default min_score').toBeGreaterThanOrEqual(servedMrr)
      }, 60_000)
    }
  }
})
