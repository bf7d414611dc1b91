import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { loadLanceStore } from '../src/rag/stores/lancedb/load.js'
import { testConfig } from './helpers.js'
import { ROOT, runIngest } from './ingest-cli.js'

const ingest = (cwd: string, ...paths: string[]) => runIngest(cwd, paths)

describe('npm run ingest', () => {
  let cwd: string
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'ingest-cli-'))
  })
  afterAll(() => rm(cwd, { recursive: true, force: true }))

  it('ingests a folder, reports each file and a summary, and names the files it could not read', async () => {
    const result = await ingest(cwd, join(ROOT, 'test/fixtures/ingest'))
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^documents: 7 \(7 new, 0 updated, 0 unchanged\)$/m)
    expect(result.stdout).toMatch(/^chunks: +\d+$/m)
    expect(result.stdout).toMatch(/^embedded: +0 \(no embedding model: keyword search only\)$/m)
    expect(result.stderr).toMatch(/created +.*guide\.pdf \(\d+ chunks\)/)
    expect(result.stderr).toContain('2 file(s) could not be ingested')
    expect(result.stderr).toMatch(/broken\.pdf: Cannot read .*not a valid PDF/)
  }, 60_000)

  it('leaves unchanged files alone when run again', async () => {
    const result = await ingest(
      cwd,
      join(ROOT, 'test/fixtures/ingest/guide.md'),
      join(ROOT, 'test/fixtures/ingest/notes.txt'),
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^documents: 2 \(0 new, 0 updated, 2 unchanged\)$/m)
  }, 60_000)

  it('leaves the store indexed for keyword search when it returns', async () => {
    const own = await mkdtemp(join(tmpdir(), 'ingest-indexed-'))
    onTestFinished(() => rm(own, { recursive: true, force: true }))
    expect((await ingest(own, join(ROOT, 'test/fixtures/ingest/guide.md'))).code).toBe(0)
    await loadLanceStore(testConfig())
    const lancedb = await import('@lancedb/lancedb')
    const connection = await lancedb.connect(join(own, 'data'))
    onTestFinished(() => connection.close())
    const chunks = await connection.openTable('chunks')
    onTestFinished(() => chunks.close())
    const fullText = (await chunks.listIndices()).find((index) => index.indexType === 'FTS')
    expect(fullText?.columns).toEqual(['text'])
    expect(await chunks.indexStats(fullText?.name as string)).toMatchObject({
      numIndexedRows: await chunks.countRows(),
      numUnindexedRows: 0,
    })
  }, 60_000)

  it('explains its usage when given no path', async () => {
    const result = await ingest(cwd)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      'usage: npm run ingest -- [--url http://host:8000 [--key <api key>]] <files or folders>',
    )
  }, 60_000)
})

describe('npm run ingest while a server holds the embedded store', () => {
  let cwd: string
  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'ingest-held-'))
    await mkdir(join(cwd, 'data'))
  })
  afterEach(() => rm(cwd, { recursive: true, force: true }))

  const record = (pid: number) =>
    writeFile(join(cwd, 'data/.server.json'), JSON.stringify({ pid, url: 'http://127.0.0.1:8123' }))

  it('refuses with exit code 2, naming the server and the --url to use, and writes nothing', async () => {
    // This test process stands in for the server: a process that is running.
    await record(process.pid)
    const result = await ingest(cwd, join(ROOT, 'test/fixtures/ingest/guide.md'))
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      `A server (pid ${process.pid}, http://127.0.0.1:8123) holds the document store`,
    )
    expect(result.stderr).toContain('--url http://127.0.0.1:8123')
    expect(result.stdout).toBe('')
    expect(await readdir(join(cwd, 'data'))).toEqual(['.server.json'])
  }, 60_000)

  it('ingests when the recorded server is no longer running', async () => {
    const ended = spawn(process.execPath, ['-e', ''])
    await once(ended, 'exit')
    await record(ended.pid as number)
    const result = await ingest(cwd, join(ROOT, 'test/fixtures/ingest/guide.md'))
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^documents: 1 \(1 new, 0 updated, 0 unchanged\)$/m)
  }, 60_000)
})
