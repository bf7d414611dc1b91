import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
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

/** Replies, in order, to each request a scripted server gets; records what it was sent. */
type Reply = (request: IncomingMessage, body: string, response: ServerResponse) => void

async function scriptedServer(...replies: Reply[]): Promise<{ base: string; bodies: string[] }> {
  const bodies: string[] = []
  const server = createHttpServer(async (request, response) => {
    let body = ''
    for await (const chunk of request) body += chunk
    bodies.push(body)
    const reply = replies.shift()
    if (reply) reply(request, body, response)
    else response.writeHead(500).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies }
}

/** The answer a real server gives: one `created` result per document sent. */
const accepted: Reply = (_request, body, response) => {
  const { documents } = JSON.parse(body) as { documents: unknown[] }
  const results = documents.map((_, index) => ({
    id: `d${index}`,
    status: 'created',
    chunks: 1,
    embedded: 0,
    from_cache: 0,
  }))
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }))
}

describe('npm run ingest -- --url, against answers a server may give', () => {
  const file = join(ROOT, 'test/fixtures/ingest/guide.md')

  it('sends a batch again after a 429, once Retry-After has passed', async () => {
    const tooMany: Reply = (_request, _body, response) =>
      response
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' })
        .end('{"detail":"Too Many Requests"}')
    const server = await scriptedServer(tooMany, tooMany, accepted)
    const result = await runIngest(cwd, ['--url', server.base, file])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^documents: 1 \(1 new, 0 updated, 0 unchanged\)$/m)
    expect(server.bodies).toHaveLength(3)
    expect(new Set(server.bodies).size).toBe(1)
  }, 60_000)

  it('reports the files of a batch answered 502 without a JSON body by its status', async () => {
    const server = await scriptedServer((_request, _body, response) => response.writeHead(502).end('<html>'))
    const result = await runIngest(cwd, ['--url', server.base, file])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/guide\.md: 502: Bad Gateway$/m)
  }, 60_000)

  it('stops when a 200 does not carry the results of this API', async () => {
    const server = await scriptedServer((_request, _body, response) => response.writeHead(200).end('{}'))
    const result = await runIngest(cwd, ['--url', server.base, file])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `${server.base}/documents answered 200 without the expected results: is --url this API's address?`,
    )
  }, 60_000)
})
