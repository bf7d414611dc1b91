import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

/** Stops the ingest a test started if it is still running when the test ends (a failure, a timeout). */
let running: AbortController | undefined
afterEach(() => running?.abort())

/** Runs `npm run ingest -- ...` as a user would, with its own data folder; never rejects. */
async function ingest(cwd: string, ...paths: string[]) {
  const { OPENAI_API_KEY: _key, DATABASE_URL: _url, ...environment } = process.env
  running = new AbortController()
  try {
    const { stdout, stderr } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'src/cli/ingest.ts'), ...paths],
      {
        cwd,
        env: { ...environment, RAG_DATA_DIR: join(cwd, 'data'), EMBEDDING_PROVIDER: 'none' },
        signal: running.signal,
      },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

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

  it('explains its usage when given no path', async () => {
    const result = await ingest(cwd)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('usage: npm run ingest -- [--url http://host:8000 [--key <api key>]] <files or folders>')
  }, 60_000)
})
