/**
 * What a hostile (or broken) upstream costs the gateway: answers that never end, an SSE event that never
 * ends, one 50 MB NDJSON line. Each scenario runs in a fresh gateway process (default configuration, so
 * the default bounds), against a hostile upstream in a process of its own; the figures are the
 * gateway's: time until the client got an answer (status, or none within CAP_S), CPU time, growth of
 * its peak RSS, and its longest event-loop stall (what a /health call waiting behind it would wait).
 *
 *   npx tsx bench/hostile-upstreams.ts
 *
 * Figures go to BENCHMARKS.md ("Hostile upstreams") by hand, with the commit they were measured on.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const CAP_S = 30
const FIFTY_MB = 50_000_000
const filler = Buffer.alloc(65_536, 'a')

/** The scenarios: the request the client sends, and what the upstream answers it. */
const SCENARIOS: Record<string, { path: string; body: object }> = {
  '/chat, a JSON answer that never ends': {
    path: '/chat',
    body: { messages: [{ role: 'user', content: 'hi' }] },
  },
  '/stream, an SSE data line that never ends': { path: '/stream', body: { prompt: 'hi' } },
  '/local-stream, one 50 MB NDJSON line': { path: '/local-stream', body: { prompt: 'hi' } },
  '/local-chat, a 50 MB JSON answer': { path: '/local-chat', body: { prompt: 'hi' } },
}

/** Writes `head`, then filler up to `total` bytes (or forever), honouring backpressure. */
async function answer(
  response: ServerResponse,
  contentType: string,
  head: string,
  total = Number.POSITIVE_INFINITY,
) {
  response.writeHead(200, { 'content-type': contentType })
  response.write(head)
  for (let sent = 0; sent < total && !response.destroyed; sent += filler.length) {
    if (!response.write(filler)) await once(response, 'drain').catch(() => {})
  }
  response.end()
}

async function runUpstream() {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      const streamed = request.url === '/v1/responses' && request.headers.accept === 'text/event-stream'
      if (request.url === '/v1/responses' && !streamed)
        void answer(response, 'application/json', '{"output_text":"')
      else if (streamed) void answer(response, 'text/event-stream', 'event: response.created\ndata: {"a":"')
      else if (request.url === '/api/generate')
        void answer(response, 'application/x-ndjson', '{"response":"', FIFTY_MB)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  console.log(`listening ${(server.address() as AddressInfo).port}`)
}

async function runGateway(scenario: string, upstream: string) {
  const { buildApp } = await import('../src/app.js')
  const { parseConfig } = await import('../src/config.js')
  const config = parseConfig({
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${upstream}/v1`,
    OLLAMA_HOST: upstream,
    RETRY_ATTEMPTS: '1',
  })
  const app = await buildApp(config)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const { path, body } = SCENARIOS[scenario] ?? { path: '/', body: {} }
  // Warm: the route's first call compiles its schemas; that is not the upstream's doing.
  await fetch(`${base}/health`).then((response) => response.text())
  globalThis.gc?.()
  const rssBefore = process.resourceUsage().maxRSS
  const cpuBefore = process.cpuUsage()
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const started = performance.now()
  let outcome: string
  try {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(CAP_S * 1000),
    })
    const text = await response.text()
    outcome = `${response.status} ${text.trim().split('\n').at(-1)?.slice(0, 60)}`
  } catch {
    outcome = `no answer within ${CAP_S} s`
  }
  const seconds = (performance.now() - started) / 1000
  loop.disable()
  const cpu = process.cpuUsage(cpuBefore)
  const growth = (process.resourceUsage().maxRSS - rssBefore) / 1024
  console.log(
    `| ${scenario} | ${outcome} | ${seconds.toFixed(2)} s | ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms | +${growth.toFixed(0)} MB | ${(loop.max / 1e6).toFixed(0)} ms |`,
  )
  process.exit(0)
}

async function main() {
  const self = new URL(import.meta.url).pathname
  const child = (...args: string[]): ChildProcess =>
    spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
  const upstream = child('upstream')
  const [line] = (await once(upstream.stdout as NodeJS.ReadableStream, 'data')) as [Buffer]
  const url = `http://127.0.0.1:${line.toString().split(' ')[1]?.trim()}`
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  console.log(`Node ${process.version}, commit ${commit}\n`)
  console.log(
    '| scenario | client got | after | gateway CPU | peak RSS | longest event-loop stall |\n|---|---|---|---|---|---|',
  )
  for (const scenario of Object.keys(SCENARIOS)) {
    const gateway = child('gateway', scenario, url)
    gateway.stdout?.pipe(process.stdout)
    await once(gateway, 'exit')
  }
  upstream.kill()
}

const [role, ...args] = process.argv.slice(2)
if (role === 'upstream') await runUpstream()
else if (role === 'gateway') await runGateway(args[0] ?? '', args[1] ?? '')
else await main()
