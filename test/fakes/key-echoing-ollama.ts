import { echoOf, endless, type Failure, json } from './failure-replies.js'
import { ndjsonLines } from './ollama.js'
import type { UpstreamReply } from './upstream.js'

const ollamaError = (status: number, message: string): UpstreamReply =>
  json(status, JSON.stringify({ error: message }), 'application/json; charset=utf-8')

/** Ollama's failures quoting `key`, before and after the first line. */
export function ollamaKeyEchoes(key: string) {
  const echo = echoOf(key)

  /** Ollama's failures before the first line. */
  const ollama: Failure[] = [
    { name: '400 echoing the key in every form', reply: () => ollamaError(400, echo), shown: true },
    { name: '404 naming the key as the model', reply: () => ollamaError(404, `model '${key}' not found`) },
    { name: '500 echoing the key', reply: () => ollamaError(500, echo) },
    {
      name: 'an error line echoing the key before any other line (status 200)',
      reply: () => ({
        kind: 'stream',
        contentType: 'application/x-ndjson',
        chunks: [`${JSON.stringify({ error: echo })}\n`],
      }),
    },
    {
      name: '200 whose answer never ends (past every bound), quoting the key over and over',
      reply: () => endless(200, 'application/x-ndjson', '{"response":"', key),
    },
    { name: 'no answer within UPSTREAM_TIMEOUT_MS', reply: () => ({ kind: 'stall' }), stalls: true },
    { name: 'connection reset', reply: () => ({ kind: 'reset' }) },
  ]

  /** Ollama's failures after the first line. */
  const ollamaStream: Failure[] = [
    {
      name: 'an error line echoing the key (status 200)',
      reply: () => {
        const lines = ndjsonLines('ollama-generate-stream-error.ndjson')
        lines[lines.length - 1] = `${JSON.stringify({ error: echo })}\n`
        return { kind: 'stream', contentType: 'application/x-ndjson', chunks: lines }
      },
    },
    {
      name: 'a line past UPSTREAM_MAX_EVENT_BYTES after the first lines, quoting the key over and over',
      reply: () => {
        const head = ndjsonLines('ollama-generate-stream.ndjson').slice(0, 3).join('')
        return endless(200, 'application/x-ndjson', `${head}{"response":"`, key)
      },
    },
    {
      name: 'the connection dropped mid-stream',
      reply: () => ({
        kind: 'stream',
        contentType: 'application/x-ndjson',
        chunks: ndjsonLines('ollama-generate-stream.ndjson'),
        dropAfter: 4,
      }),
    },
  ]

  return { ollama, ollamaStream }
}
