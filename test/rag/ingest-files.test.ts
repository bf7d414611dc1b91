import { describe, expect, it } from 'vitest'
import type { DocumentInput, IngestResult } from '../../src/rag/ingest.js'
import { ingestFiles } from '../../src/rag/ingest-files.js'
import { waitFor } from '../wait-for.js'

const FIXTURES = 'test/fixtures/ingest'

/** What a store answers for documents it created: one chunk each, named by their source. */
const createdResults = (inputs: DocumentInput[]): IngestResult[] =>
  inputs.map((input) => ({
    id: input.source as string,
    status: 'created',
    chunks: 1,
    embedded: 0,
    fromCache: 0,
  }))

/** An `ingest` that records its batches, answers `created` for each document, and counts calls in flight. */
function recordingIngest(refuse: (inputs: DocumentInput[]) => boolean = () => false) {
  const batches: string[][] = []
  let inFlight = 0
  let mostInFlight = 0
  const ingest = async (inputs: DocumentInput[]): Promise<IngestResult[]> => {
    inFlight++
    mostInFlight = Math.max(mostInFlight, inFlight)
    // Yield, so that a second call made meanwhile would overlap this one.
    await new Promise((resolve) => setImmediate(resolve))
    inFlight--
    batches.push(inputs.map((input) => input.source as string))
    if (refuse(inputs)) throw new Error('the store is read-only')
    return createdResults(inputs)
  }
  return { ingest, batches, mostInFlight: () => mostInFlight }
}

describe('ingestFiles', () => {
  it('writes the files in batches of batchSize, in file order, one write at a time', async () => {
    const { ingest, batches, mostInFlight } = recordingIngest()
    const report = await ingestFiles(
      [`${FIXTURES}/guide.md`, `${FIXTURES}/notes.txt`, `${FIXTURES}/page.html`],
      ingest,
      {
        batchSize: 2,
      },
    )
    expect(batches).toEqual([[`${FIXTURES}/guide.md`, `${FIXTURES}/notes.txt`], [`${FIXTURES}/page.html`]])
    expect(mostInFlight()).toBe(1)
    expect(report.results.map((result) => result.id)).toEqual(batches.flat())
    expect(report.failures).toEqual([])
  })

  it('reports a file that cannot be read and writes the rest of its batch', async () => {
    const { ingest, batches } = recordingIngest()
    const report = await ingestFiles(
      [`${FIXTURES}/guide.md`, `${FIXTURES}/broken.pdf`, `${FIXTURES}/notes.txt`],
      ingest,
      {
        batchSize: 3,
      },
    )
    expect(batches).toEqual([[`${FIXTURES}/guide.md`, `${FIXTURES}/notes.txt`]])
    expect(report.failures).toHaveLength(1)
    expect(report.failures[0]).toMatch(
      new RegExp(`^${FIXTURES}/broken.pdf: Cannot read ${FIXTURES}/broken.pdf: `),
    )
  })

  it('reports every file of a batch the store refuses, and goes on with the next batch', async () => {
    const { ingest, batches } = recordingIngest((inputs) =>
      inputs.some((input) => input.source?.endsWith('guide.md')),
    )
    const report = await ingestFiles(
      [`${FIXTURES}/guide.md`, `${FIXTURES}/notes.txt`, `${FIXTURES}/page.html`],
      ingest,
      {
        batchSize: 2,
      },
    )
    expect(batches).toHaveLength(2)
    expect(report.failures).toEqual([
      `${FIXTURES}/guide.md: the store is read-only`,
      `${FIXTURES}/notes.txt: the store is read-only`,
    ])
    expect(report.results.map((result) => result.id)).toEqual([`${FIXTURES}/page.html`])
  })

  it('prepares each batch while the one before it is written, and writes the very inputs it prepared', async () => {
    const events: string[] = []
    const prepared = new Set<DocumentInput>()
    let releaseFirstWrite!: () => void
    const firstWriteHeld = new Promise<void>((resolve) => {
      releaseFirstWrite = resolve
    })
    const ingest = async (inputs: DocumentInput[]): Promise<IngestResult[]> => {
      const names = inputs.map((input) => input.source as string)
      events.push(`write ${names.join(',')}`)
      expect(inputs.every((input) => prepared.has(input))).toBe(true)
      if (events.length === 2) await firstWriteHeld
      events.push(`written ${names.join(',')}`)
      return createdResults(inputs)
    }
    const prepare = async (inputs: DocumentInput[]) => {
      for (const input of inputs) prepared.add(input)
      events.push(`prepare ${inputs.map((input) => input.source).join(',')}`)
      // The second batch is prepared while the first is still being written.
      if (events.includes(`write ${FIXTURES}/guide.md`)) releaseFirstWrite()
    }
    const report = await ingestFiles([`${FIXTURES}/guide.md`, `${FIXTURES}/notes.txt`], ingest, {
      batchSize: 1,
      prepare,
    })
    expect(events).toEqual([
      `prepare ${FIXTURES}/guide.md`,
      `write ${FIXTURES}/guide.md`,
      `prepare ${FIXTURES}/notes.txt`,
      `written ${FIXTURES}/guide.md`,
      `write ${FIXTURES}/notes.txt`,
      `written ${FIXTURES}/notes.txt`,
    ])
    expect(report.failures).toEqual([])
  })

  it('writes the batches prepared during a write together in the next write, up to mergeUpTo documents', async () => {
    const files = ['guide.md', 'notes.txt', 'page.html', 'nested/chapter.MD'].map(
      (name) => `${FIXTURES}/${name}`,
    )
    const events: string[] = []
    const writes: string[][] = []
    let release!: () => void
    const firstWriteHeld = new Promise<void>((resolve) => {
      release = resolve
    })
    let prepared = 0
    const run = ingestFiles(
      files,
      async (inputs) => {
        writes.push(inputs.map((input) => input.source as string))
        if (writes.length === 1) await firstWriteHeld
        events.push(`written ${writes.length}`)
        return createdResults(inputs)
      },
      {
        batchSize: 1,
        mergeUpTo: 2,
        onFile: (path) => events.push(`read ${path}`),
        prepare: async () => {
          prepared++
        },
      },
    )
    await waitFor(() => prepared === 3, { timeout: 5_000 })
    release()
    const report = await run
    expect(writes).toEqual([[files[0]], [files[1], files[2]], [files[3]]])
    // While the first write was held, reading stopped once mergeUpTo documents waited.
    expect(events.indexOf(`read ${files[3]}`)).toBeGreaterThan(events.indexOf('written 1'))
    expect(report.results.map((result) => result.id)).toEqual(files)
  })

  it('rejects with a run-ending error of a merged write, and writes nothing after it', async () => {
    const writes: string[][] = []
    const stop = new Error('the server refused the key')
    const files = ['guide.md', 'notes.txt', 'page.html'].map((name) => `${FIXTURES}/${name}`)
    const run = ingestFiles(
      files,
      async (inputs) => {
        writes.push(inputs.map((input) => input.source as string))
        throw stop
      },
      { batchSize: 1, mergeUpTo: 2, stopsRun: (error) => error === stop },
    )
    await expect(run).rejects.toBe(stop)
    expect(writes).toEqual([[files[0]]])
  })

  it('rejects naming a path that does not exist, before writing anything', async () => {
    const { ingest, batches } = recordingIngest()
    await expect(ingestFiles([`${FIXTURES}/missing.md`], ingest)).rejects.toThrow(
      `Cannot read ${FIXTURES}/missing.md`,
    )
    expect(batches).toEqual([])
  })
})
