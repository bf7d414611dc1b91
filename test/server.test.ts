import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { runningServer, SERVER_MARKER_FILE } from '../src/rag/stores/lancedb/server-marker.js'
import { okReply, startFakeOpenAI } from './fakes/openai.js'
import { heldReply, type UpstreamReply } from './fakes/upstream.js'
import { listeningUrl, logLines, startServer, stopServers, temporaryDirectory } from './server-process.js'
import { waitFor } from './wait-for.js'

afterEach(stopServers)

/** A server process pointed at a fake OpenAI, with one /chat in flight that the fake answers with `reply`. */
async function serveChatInFlight(environment: Record<string, string>, reply: UpstreamReply) {
  const upstream = await startFakeOpenAI()
  onTestFinished(() => upstream.close())
  upstream.reset(reply)
  const server = await startServer({
    OPENAI_API_KEY: 'sk-test-key-1234567890',
    OPENAI_BASE_URL: upstream.url,
    ...environment,
  })
  const url = await listeningUrl(server)
  const answer = fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  })
  await waitFor(() => upstream.received.length === 1)
  return { server, upstream, answer }
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

  it('given SIGTERM with a slow request in flight, answers it and exits 0', async () => {
    const held = heldReply()
    const { server, upstream, answer } = await serveChatInFlight({}, held.reply)
    const exited = once(server.child, 'exit')
    server.child.kill('SIGTERM')
    await waitFor(() =>
      logLines(server).some((line) => line.msg === 'shutting down: waiting for the requests in flight'),
    )
    held.release(okReply())
    const response = await answer
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ text: 'Hi there! How can I help you today?' })
    expect(upstream.received).toHaveLength(1)
    const [code] = await exited
    expect(code).toBe(0)
  })

  it('given SIGTERM with a request that outlasts the grace, answers it 503 {"detail"} and exits 0', async () => {
    const { server, answer } = await serveChatInFlight({ SHUTDOWN_GRACE_MS: '200' }, { kind: 'stall' })
    const exited = once(server.child, 'exit')
    server.child.kill('SIGTERM')
    const response = await answer
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ detail: 'The server is shutting down; retry the request' })
    const [code] = await exited
    expect(code).toBe(0)
  })

  it('refuses to start with a bad variable, naming it', async () => {
    const server = await startServer({ PORT: 'eighty' })
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(1)
    expect(server.output()).toMatch(/Invalid configuration:\n\s+PORT: /)
  })

  it('refuses to start with an unusable keys file, naming it and the problem', async () => {
    const directory = await temporaryDirectory('genai-keys-')
    const keysFile = join(directory, 'keys.json')
    await writeFile(keysFile, JSON.stringify({ keys: [{ name: 'web', scope: 'use', sha256: 'abc' }] }))
    const server = await startServer({ API_KEYS_FILE: keysFile })
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(1)
    expect(server.output()).toMatch(/API_KEYS_FILE \(.*keys\.json\)\n\s+keys\.0\.sha256: must be the 64 hex/)
  })

  it('with keys, asks for one, and warns that stream tokens need a shared secret', async () => {
    const key = 'gk_an-example-key-for-the-process-test-0000000'
    const sha256 = createHash('sha256').update(key).digest('hex')
    const server = await startServer({ API_KEY_HASHES: `web:use:${sha256}` })
    const url = await listeningUrl(server)
    const chat = (headers: Record<string, string>) =>
      fetch(`${url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      })
    expect((await chat({})).status).toBe(401)
    // 422: past the key check, on to the (empty) body.
    expect((await chat({ authorization: `Bearer ${key}` })).status).toBe(422)
    const warnings = logLines(server)
      .filter((line) => line.level === 40)
      .map((line) => String(line.msg))
    expect(warnings).toContainEqual(expect.stringMatching(/^STREAM_TOKEN_SECRET is not set/))
    expect(server.output()).not.toContain(key)
  })

  it('refuses to start on a document store built with other embeddings, naming both', async () => {
    const dataDir = await temporaryDirectory('genai-store-')
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

  it('marks the embedded store it holds with its pid and URL, and unmarks it on SIGTERM', async () => {
    const dataDir = await temporaryDirectory('genai-store-')
    const server = await startServer({ RAG_DATA_DIR: dataDir })
    // A start took over 10 s with the machine's 2 cores shared by five test suites.
    const url = await listeningUrl(server, 30_000)
    await waitFor(async () => (await runningServer(dataDir)) !== undefined)
    // tsx runs the server in a child process of its own: the marker names that one.
    expect(await runningServer(dataDir)).toEqual({ pid: expect.any(Number), url })
    server.child.kill('SIGTERM')
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(0)
    expect(await runningServer(dataDir)).toBeUndefined()
    await expect(readFile(join(dataDir, SERVER_MARKER_FILE))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('logs pino JSON with the request id, and neither credentials nor prompts', async () => {
    const server = await startServer({ LOG_LEVEL: 'debug' })
    const url = await listeningUrl(server)
    await fetch(`${url}/safe?prompt=my%20private%20question&model=gpt-5`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-client-secret-123456', 'x-request-id': 'trace-7' },
    })
    // The access log line is the last the request writes; the pipe from the child may still hold it.
    await waitFor(() =>
      logLines(server).some((line) => line.reqId === 'trace-7' && line.msg === 'request completed'),
    )
    const incoming = logLines(server).find((line) => line.reqId === 'trace-7' && line.req) as
      | { req: { url: string } }
      | undefined
    expect(incoming?.req.url).toBe('/safe?prompt=[redacted]&model=gpt-5')
    expect(server.output()).not.toContain('sk-client-secret')
    expect(server.output()).not.toContain('private')
  })
})
