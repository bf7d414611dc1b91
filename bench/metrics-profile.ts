/**
 * `npm run bench:metrics-profile`: the share of CPU the metrics take on the /chat path (`BENCH_ROUTE=stream`:
 * /stream, 20 deltas), from a V8 CPU
 * profile of one process. A share within one profile does not move with a noisy neighbour the way
 * requests/s between two processes does (bench/metrics-overhead.ts), so it says what the metrics cost
 * even on a busy machine. The app (metrics on), the fake OpenAI and the injected load share the process:
 * the share of the server's own work is higher than the share printed, by the fake's and inject's part.
 */
import { Session } from 'node:inspector/promises'
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config.js'
import { emptyDocumentStore } from '../test/fakes/document-store.js'
import { longSseReply, startFakeOpenAI } from '../test/fakes/openai.js'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 16_000)
const CONCURRENCY = 16

interface ProfileNode {
  id: number
  callFrame: { url: string; functionName: string }
}

const fake = await startFakeOpenAI()
const config = parseConfig({ OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: fake.url, LOG_LEVEL: 'silent' })
const app = await buildApp(config, { store: emptyDocumentStore() })
const ROUTE = process.env.BENCH_ROUTE === 'stream' ? '/stream' : '/chat'
// /stream: the recorded stream stretched to 20 deltas, as bench/fake-upstream.ts answers.
if (ROUTE === '/stream') fake.reset(longSseReply(20))
const payload =
  ROUTE === '/stream'
    ? { prompt: 'hi', model: 'gpt-4.1-mini' }
    : { messages: [{ role: 'user', content: 'hi' }], model: 'gpt-4.1-mini' }
const load = (requests: number) =>
  Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let index = 0; index < requests / CONCURRENCY; index++) {
        const response = await app.inject({ method: 'POST', url: ROUTE, payload })
        if (response.statusCode !== 200) throw new Error(`${ROUTE} answered ${response.statusCode}`)
      }
    }),
  )

await load(2_000) // warm-up: compiled before the profile starts
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.start')
await load(REQUESTS)
const { profile } = await session.post('Profiler.stop')
session.disconnect()
await app.close()
await fake.close()

const nodes = new Map((profile.nodes as ProfileNode[]).map((node) => [node.id, node]))
const byPart = new Map<string, number>()
let total = 0
for (const [index, id] of (profile.samples ?? []).entries()) {
  const micros = profile.timeDeltas?.[index] ?? 0
  const frame = nodes.get(id)?.callFrame
  // Idle is time the process waited, not work: it would dilute every share.
  if (frame === undefined || frame.functionName === '(idle)') continue
  const url = frame.url
  const part = url.includes('/prom-client/')
    ? 'prom-client'
    : url.includes('/src/plugins/metrics/') || url.includes('/src/streaming/stream-metrics')
      ? 'our metrics code'
      : 'everything else'
  byPart.set(part, (byPart.get(part) ?? 0) + micros)
  total += micros
}
console.log(`${REQUESTS} ${ROUTE} requests, self time by part of the CPU profile (idle excluded):`)
for (const [part, micros] of byPart) console.log(`  ${part}: ${((micros / total) * 100).toFixed(2)} %`)
