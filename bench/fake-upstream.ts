/**
 * A fast fake upstream for benchmarks, run in its own process: OpenAI Responses JSON and SSE
 * (`POST /v1/responses`) and Ollama JSON and NDJSON (`POST /api/generate`). Bodies are built once from the
 * recorded fixtures; DELTAS sets how many text deltas a stream has and DELAY_MS the gap between them
 * (SLOW_DELTAS and SLOW_DELAY_MS for requests naming the model "slow").
 * Prints `listening <port>` when ready.
 */
import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'

const deltas = Number(process.env.DELTAS ?? 20)
const delayMs = Number(process.env.DELAY_MS ?? 0)
// A request for the model "slow" gets a long, dripping stream (open-streams scenario).
const slowDeltas = Number(process.env.SLOW_DELTAS ?? 1_000)
const slowDelayMs = Number(process.env.SLOW_DELAY_MS ?? 500)
const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8')

const openaiJson = Buffer.from(fixture('openai-response.json'))
const ollamaJson = Buffer.from(fixture('ollama-generate.json'))

function stretch(
  events: string[],
  count: number,
  isDelta: (event: string) => boolean,
  withDelta: (template: string) => string,
): string[] {
  const first = events.findIndex(isDelta)
  const last = events.findLastIndex(isDelta)
  const template = events[first] ?? ''
  return [
    ...events.slice(0, first),
    ...Array.from({ length: count }, () => withDelta(template)),
    ...events.slice(last + 1),
  ]
}

const responseEvents = (count: number) =>
  stretch(
    fixture('openai-responses-stream.sse')
      .split('\n\n')
      .filter(Boolean)
      .map((event) => `${event}\n\n`),
    count,
    (event) => event.startsWith('event: response.output_text.delta'),
    (template) => template.replace(/"delta":"[^"]*"/, '"delta":"word "'),
  ).map((event) => Buffer.from(event))
const sseEvents = responseEvents(deltas)
const slowSseEvents = responseEvents(slowDeltas)

const ndjsonLines = stretch(
  fixture('ollama-generate-stream.ndjson')
    .split('\n')
    .filter(Boolean)
    .map((line) => `${line}\n`),
  deltas,
  (line) => line.includes('"done":false'),
  (template) => template.replace(/"response":"[^"]*"/, '"response":"word "'),
).map((line) => Buffer.from(line))

async function sendChunks(response: ServerResponse, contentType: string, chunks: Buffer[], delayMs: number) {
  response.writeHead(200, { 'content-type': contentType })
  if (delayMs === 0) {
    response.end(Buffer.concat(chunks))
    return
  }
  for (const chunk of chunks) {
    if (response.destroyed) return
    response.write(chunk)
    await new Promise((resolve) => setTimeout(resolve, delayMs))
  }
  response.end()
}

const server = createServer((request, response) => {
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk) => {
    body += chunk
  })
  request.on('end', () => {
    const stream = body.includes('"stream":true')
    if (request.url === '/v1/responses') {
      const slow = body.includes('"model":"slow"')
      if (stream && slow)
        void sendChunks(response, 'text/event-stream; charset=utf-8', slowSseEvents, slowDelayMs)
      else if (stream) void sendChunks(response, 'text/event-stream; charset=utf-8', sseEvents, delayMs)
      else response.writeHead(200, { 'content-type': 'application/json' }).end(openaiJson)
    } else if (request.url === '/api/generate') {
      if (stream) void sendChunks(response, 'application/x-ndjson', ndjsonLines, delayMs)
      else response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(ollamaJson)
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`)
})
