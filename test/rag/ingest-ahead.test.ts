import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import type { ChunkingOptions, TextChunk } from '../../src/rag/chunker.js'
import { type DocumentInput, Ingestor } from '../../src/rag/ingest.js'
import { loadLanceStore } from '../../src/rag/stores/lancedb/load.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { openTestApp, testConfig } from '../helpers.js'

const { LanceStore } = await loadLanceStore(testConfig())
const CHUNKING: ChunkingOptions = { maxTokens: 400, overlapTokens: 60 }
const call = { signal: new Cancellation().signal, requestId: 'ingest-ahead-test' }

/** A Chunker that records the texts it was given and answers one recognisable chunk per text. */
function recordingChunker() {
  const texts: string[] = []
  const chunker = async (text: string): Promise<TextChunk[]> => {
    texts.push(text)
    return [{ text: `ahead: ${text}`, tokenCount: 3 }]
  }
  return { chunker, texts }
}

describe('Ingestor.chunkAhead', () => {
  let directory: string
  let store: InstanceType<typeof LanceStore>
  const ingestors: Ingestor[] = []
  /** An Ingestor closed after the test (its chunking threads stopped). */
  const ingestorOf = (...args: ConstructorParameters<typeof Ingestor>) => {
    const ingestor = new Ingestor(...args)
    ingestors.push(ingestor)
    return ingestor
  }

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'ingest-ahead-'))
    store = new LanceStore({ directory, maintenanceDelayMs: 0 })
    await store.open({ model: 'none', dimensions: 0 })
  })
  afterEach(async () => {
    for (const ingestor of ingestors.splice(0)) await ingestor.close()
    await store.close()
    await rm(directory, { recursive: true, force: true })
  })

  it('stores the chunks made ahead, without chunking the document again', async () => {
    const { chunker, texts } = recordingChunker()
    const ingestor = ingestorOf(store, undefined, CHUNKING, chunker)
    const input: DocumentInput = { id: 'bread', text: 'Sourdough rises with wild yeast.' }
    await ingestor.chunkAhead([input])
    const [result] = await ingestor.ingestMany([input], call)
    expect(result).toMatchObject({ id: 'bread', status: 'created', chunks: 1 })
    expect((await store.chunks('bread')).map((chunk) => chunk.text)).toEqual([
      'ahead: Sourdough rises with wild yeast.',
    ])
    expect(texts).toEqual(['Sourdough rises with wild yeast.'])
  })

  it('leaves alone a document the store holds unchanged', async () => {
    const { chunker, texts } = recordingChunker()
    const ingestor = ingestorOf(store, undefined, CHUNKING, chunker)
    await ingestor.ingestMany([{ id: 'bread', text: 'Sourdough rises.' }], call)
    await ingestor.chunkAhead([
      { id: 'bread', text: 'Sourdough rises.' },
      { id: 'rye', text: 'Rye is dense.' },
    ])
    expect(texts).toEqual(['Rye is dense.'])
  })

  it('chunks in ingest() what failed ahead, and reports ingest’s own error for a text that cannot be chunked', async () => {
    const failing = async (): Promise<TextChunk[]> => {
      throw new Error('the chunking thread died')
    }
    const ingestor = ingestorOf(store, undefined, CHUNKING, failing)
    const good: DocumentInput = { id: 'bread', text: 'Sourdough rises with wild yeast.' }
    await expect(ingestor.chunkAhead([good])).resolves.toBeUndefined()
    await ingestor.ingestMany([good], call)
    expect((await store.chunks('bread')).map((chunk) => chunk.text)).toEqual([good.text])

    // gpt-tokenizer refuses special tokens in text: the same error with or without chunking ahead in
    // worker threads (the default chunker).
    const special: DocumentInput = { id: 'special', text: 'End here <|endoftext|> and go on.' }
    const plain = ingestorOf(store, undefined, CHUNKING)
    const expected = await plain.ingestMany([special], call).catch((error: Error) => error.message)
    expect(expected).toMatch(/special token/)
    const ahead = ingestorOf(store, undefined, CHUNKING)
    await ahead.chunkAhead([special])
    await expect(ahead.ingestMany([special], call)).rejects.toThrow(expected as string)
  })

  it("chunks ahead with the chunker an app is built with (the CLI's pool, started before the app)", async () => {
    const { chunker, texts } = recordingChunker()
    // The app closes the store it is given: this test's store stays open for afterEach.
    const { app } = await openTestApp(testConfig(), {
      store: emptyDocumentStore({
        getMany: (ids) => store.getMany(ids),
        upsertMany: (entries) => store.upsertMany(entries),
      }),
      chunker,
    })
    const input: DocumentInput = { id: 'bread', text: 'Sourdough rises with wild yeast.' }
    await app.documents.chunkAhead([input])
    await app.documents.ingest([input], call)
    expect(texts).toEqual([input.text])
    expect((await store.chunks('bread')).map((chunk) => chunk.text)).toEqual([`ahead: ${input.text}`])
  })

  it('re-ingests a changed document chunked ahead in place of its old chunks', async () => {
    const ingestor = ingestorOf(store, undefined, { maxTokens: 16, overlapTokens: 0 })
    const long = Array.from({ length: 12 }, (_, index) => `Sentence ${index} is here.`).join(' ')
    await ingestor.ingestMany([{ id: 'doc', text: long }], call)
    expect((await store.chunks('doc')).length).toBeGreaterThan(2)
    const short: DocumentInput = { id: 'doc', text: 'Only this now.' }
    await ingestor.chunkAhead([short])
    await ingestor.ingestMany([short], call)
    expect((await store.chunks('doc')).map((chunk) => chunk.text)).toEqual(['Only this now.'])
  })
})
