import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSX = join(ROOT, 'node_modules/.bin/tsx')
const SERVER = join(ROOT, 'src/server.ts')

interface RunningServer {
  child: ChildProcess
  output: () => string
}

const running: ChildProcess[] = []
afterEach(() => {
  // tsx runs the server in a child of its own: end the whole process group, not just tsx.
  for (const child of running.splice(0)) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

/** Starts src/server.ts as a real process, in an empty directory so no .env is read. */
async function startServer(environment: Record<string, string>): Promise<RunningServer> {
  const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...inherited } = process.env
  const child = spawn(TSX, [SERVER], {
    detached: true,
    cwd: await mkdtemp(join(tmpdir(), 'genai-server-')),
    env: { ...inherited, PORT: '0', LOG_LEVEL: 'info', ...environment },
  })
  running.push(child)
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  return { child, output: () => output }
}

async function listeningUrl(server: RunningServer): Promise<string> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const match = server.output().match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
    if (match?.[1]) return match[1]
    if (server.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start:\n${server.output()}`)
}

describe('the server process', () => {
  it('starts without OPENAI_API_KEY: health and docs work, OpenAI routes say what to set', async () => {
    const server = await startServer({})
    const url = await listeningUrl(server)
    expect((await fetch(`${url}/health`)).status).toBe(200)
    expect((await fetch(`${url}/docs/`)).status).toBe(200)
    const chat = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(chat.status).toBe(503)
    expect(((await chat.json()) as { detail: string }).detail).toContain('OPENAI_API_KEY')
    expect(server.output()).toContain('OPENAI_API_KEY is not set')
  })

  it('shuts down cleanly on SIGTERM', async () => {
    const server = await startServer({})
    await listeningUrl(server)
    server.child.kill('SIGTERM')
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(0)
  })

  it('refuses to start with a bad variable, naming it', async () => {
    const server = await startServer({ PORT: 'eighty' })
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(1)
    expect(server.output()).toMatch(/Invalid configuration:\n\s+PORT: /)
  })

  it('refuses to start on a document store built with other embeddings, naming both', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'genai-store-'))
    await writeFile(
      join(dataDir, 'store.json'),
      JSON.stringify({ model: 'openai:text-embedding-3-small', dimensions: 1536 }),
    )
    const server = await startServer({ RAG_DATA_DIR: dataDir, EMBEDDING_PROVIDER: 'none' })
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(1)
    expect(server.output()).toContain(
      'built with embeddings openai:text-embedding-3-small (1536 dimensions) but the server is configured for none (0 dimensions)',
    )
  })

  it('logs pino JSON with the request id, and neither credentials nor prompts', async () => {
    const server = await startServer({ LOG_LEVEL: 'debug' })
    const url = await listeningUrl(server)
    await fetch(`${url}/safe?prompt=my%20private%20question&model=gpt-5`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-client-secret-123456', 'x-request-id': 'trace-7' },
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
    const incoming = lines.find((line) => line.reqId === 'trace-7' && line.req)
    expect(incoming?.req.url).toBe('/safe?prompt=[redacted]&model=gpt-5')
    expect(server.output()).not.toContain('sk-client-secret')
    expect(server.output()).not.toContain('private')
  })
})
