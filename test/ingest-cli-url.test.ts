import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ADMIN_KEY, KEYS_ENVIRONMENT, USE_KEY } from './access-keys.js'
import { serveTestApp, testConfig } from './helpers.js'
import { ROOT, runIngest } from './ingest-cli.js'

let cwd: string
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'ingest-url-'))
})
afterEach(() => rm(cwd, { recursive: true, force: true }))

/** A server listening on a loopback port, with its own store (not the CLI's data folder). */
const serve = (environment: Record<string, string> = {}) =>
  serveTestApp(testConfig({ RAG_DATA_DIR: join(cwd, 'server-data'), ...environment }))

/** Writes files (name -> content) in a new folder of the working directory; returns the folder. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const root = join(cwd, name)
  await mkdir(root)
  for (const [file, content] of Object.entries(files)) await writeFile(join(root, file), content)
  return root
}

describe('npm run ingest -- --url', () => {
  it('stores through the running server, which sees the documents at once', async () => {
    const { app, base } = await serve()
    const result = await runIngest(cwd, ['--url', base, join(ROOT, 'test/fixtures/ingest')])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^documents: 7 \(7 new, 0 updated, 0 unchanged\)$/m)
    expect(result.stdout).toMatch(/^embedded: +0 \(by the server\)$/m)
    expect(result.stdout).toContain(`store:     the server at ${base}`)
    expect(result.stderr).toMatch(/broken\.pdf: Cannot read .*not a valid PDF/)

    const listed = await app.inject({ method: 'GET', url: '/documents' })
    expect(listed.json().total).toBe(7)
    const search = await app.inject({
      method: 'POST',
      url: '/search',
      payload: { query: 'Retrieval finds the relevant chunks' },
    })
    expect(search.json().results[0].document.source).toMatch(/test\/fixtures\/ingest\/page\.html$/)
  }, 60_000)

  it("reports each file the server refused with the server's detail, and stores the others", async () => {
    const { app, base } = await serve({ INGEST_BODY_LIMIT_BYTES: '4096' })
    const root = await folder('mixed', {
      'a-good.md': '# Good\n\nA document the server takes.',
      'b-blank.txt': '   \n\n  ',
      'c-large.txt': 'word '.repeat(2_000),
      'd-good.txt': 'Another document the server takes.',
    })
    const result = await runIngest(cwd, ['--url', base, root])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^documents: 2 \(2 new, 0 updated, 0 unchanged\)$/m)
    expect(result.stderr).toContain('2 file(s) could not be ingested')
    expect(result.stderr).toMatch(/b-blank\.txt: 422: text: must not be empty or only whitespace$/m)
    expect(result.stderr).toMatch(/c-large\.txt: 413: Request body is larger than the limit of 4096 bytes$/m)
    expect((await app.inject({ method: 'GET', url: '/documents' })).json().total).toBe(2)
  }, 60_000)

  describe('when the server has API keys', () => {
    const file = join(ROOT, 'test/fixtures/ingest/guide.md')

    it('sends the admin key of GENAI_API_KEY as a bearer token', async () => {
      const { app, base } = await serve(KEYS_ENVIRONMENT)
      const result = await runIngest(cwd, ['--url', base, file], { GENAI_API_KEY: ADMIN_KEY })
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^documents: 1 \(1 new, 0 updated, 0 unchanged\)$/m)
      const listed = await app.inject({
        method: 'GET',
        url: '/documents',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
      expect(listed.json().total).toBe(1)
    }, 60_000)

    it('stops at the first refusal, saying which key it needs: none given', async () => {
      const { base } = await serve(KEYS_ENVIRONMENT)
      const result = await runIngest(cwd, ['--url', base, file])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`The server at ${base} refused: Not authenticated.`)
      expect(result.stderr).toContain('needs an API key of scope admin (--key, or GENAI_API_KEY')
      expect(result.stdout).toBe('')
    }, 60_000)

    it('stops at the first refusal, saying which key it needs: --key of scope use', async () => {
      const { base } = await serve(KEYS_ENVIRONMENT)
      const result = await runIngest(cwd, ['--url', base, '--key', USE_KEY, file], {
        GENAI_API_KEY: ADMIN_KEY,
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        `The server at ${base} refused: this API key's scope 'use' does not allow this request: it needs 'admin'.`,
      )
    }, 60_000)
  })

  it('stops when nothing listens at the address, naming it', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise((resolve) => closed.close(resolve))
    const result = await runIngest(cwd, [
      '--url',
      `http://127.0.0.1:${port}`,
      join(ROOT, 'test/fixtures/ingest/guide.md'),
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`Cannot reach the server at http://127.0.0.1:${port}: ECONNREFUSED`)
  }, 60_000)

  it('refuses an address that is not http(s) with exit code 2', async () => {
    const result = await runIngest(cwd, ['--url', 'localhost:8000', 'docs'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("--url must be an http:// or https:// address, not 'localhost:8000'")
  }, 60_000)
})
