import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFile } from '../../../src/rag/files.js'
import type { DocumentInput } from '../../../src/rag/ingest.js'

/** A question and the documents that answer it (a hit on any counts). */
export interface Question {
  question: string
  documents: string[]
}

/** A corpus to ingest and the questions asked of it. */
export interface Corpus {
  name: string
  documents: () => Promise<DocumentInput[]>
  questions: () => Promise<Question[]>
}

const fixtures = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url))
const json = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T

/** The project's own corpus: 40 documents, 60 questions (test/fixtures/rag-corpus/README.md). */
export const projectCorpus: Corpus = {
  name: 'project (40 docs, 60 q)',
  async documents() {
    const folder = fixtures('rag-corpus/')
    const names = (await readdir(folder)).filter((name) => name.endsWith('.md') && name !== 'README.md')
    return Promise.all(
      names.sort().map(async (name) => {
        const parsed = await parseFile(join(folder, name))
        return { id: name.replace(/\.md$/, ''), title: parsed.title, text: parsed.text, source: name }
      }),
    )
  },
  async questions() {
    const pairs = await json<{ question: string; document: string }[]>(fixtures('rag-corpus/questions.json'))
    return pairs.map(({ question, document }) => ({ question, documents: [document] }))
  },
}

const FASTIFY_DOCS = fileURLToPath(new URL('../../../node_modules/fastify/docs/', import.meta.url))

/** Real documentation: the Fastify docs of the pinned dependency, read as the ingest CLI reads files. */
export const fastifyCorpus: Corpus = {
  name: 'Fastify docs (41 docs, 28 q)',
  async documents() {
    const paths = (await readdir(FASTIFY_DOCS, { recursive: true }))
      .filter((path) => path.endsWith('.md'))
      .sort()
    return Promise.all(
      paths.map(async (path) => {
        const parsed = await parseFile(join(FASTIFY_DOCS, path))
        const id = relative('.', path).replace(/\.md$/, '').replaceAll('/', '-')
        return { id, title: parsed.title, text: parsed.text, source: `docs/${path}` }
      }),
    )
  },
  questions: () => json<Question[]>(fixtures('fastify-docs/questions.json')),
}

/** Questions neither corpus answers: they must get no passage at the default threshold. */
export const noAnswerQuestions = () => json<string[]>(fixtures('fastify-docs/no-answer.json'))
