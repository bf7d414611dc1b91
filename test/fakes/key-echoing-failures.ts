import { readFixture, readHead } from '../fixtures.js'
import { ndjsonLines } from './ollama.js'
import { sseEvents } from './openai.js'
import type { UpstreamReply } from './upstream.js'

/*
 * Upstream failures that quote a secret back, the way careless upstreams and proxies do: in the error
 * message (plain, `Bearer <key>`, `token_<key>`, inside JSON, in a query string), as the error code, in
 * a header; plus the failures that carry no text (stalls, resets, dropped streams), for the same routes.
 */

/** One scripted failure of an upstream. */
export interface Failure {
  name: string
  reply: () => UpstreamReply
  /** The upstream's message reaches the client (a 4xx the caller can act on): it must arrive redacted. */
  shown?: boolean
  /** The upstream stalls: only a timeout ends the call. */
  stalls?: boolean
}

const json = (status: number, body: unknown, contentType = 'application/json'): UpstreamReply => ({
  kind: 'json',
  status,
  headers: { 'content-type': contentType },
  body: typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`,
})

const openAIError = (status: number, message: string, code: string | null, param: string | null = null) =>
  json(status, { error: { message, type: 'invalid_request_error', param, code } })

const ollamaError = (status: number, message: string): UpstreamReply =>
  json(status, JSON.stringify({ error: message }), 'application/json; charset=utf-8')

const sse = (chunks: string[], options: { dropAfter?: number; stallAfter?: number } = {}): UpstreamReply => ({
  kind: 'stream',
  contentType: 'text/event-stream; charset=utf-8',
  chunks,
  ...options,
})

/** The parts of an event's JSON a failure rewrites. */
interface EventData {
  error: Record<string, unknown>
  response: Record<string, unknown>
}

/** The events of a recorded stream with one event's JSON rewritten. */
function rewritten(fixture: string, type: string, rewrite: (event: EventData) => void): string[] {
  return sseEvents(fixture).map((block) => {
    if (!block.startsWith(`event: ${type}\n`)) return block
    const data = JSON.parse(block.slice(block.indexOf('data: ') + 'data: '.length))
    rewrite(data)
    return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`
  })
}

/** Every failure, each upstream and phase apart, quoting `key`. */
export function keyEchoingFailures(key: string) {
  const forms = [key, `Bearer ${key}`, `token_${key}`, `{"api_key":"${key}"}`, `key=${key}&retry=1`]
  /** An upstream error message quoting the key in every form at once. */
  const echo = `Incorrect API key provided: ${forms.join(' | ')}.`
  /** A recorded fixture with the masked key in it replaced by the real one. */
  const withKey = (fixture: string) => readFixture(fixture).replace(/sk-proj-\*+Ab1Z/, key)

  /** Failures of an OpenAI call before any byte of its answer: /responses (JSON or stream) and /embeddings. */
  const openai: Failure[] = [
    {
      name: 'the recorded 401, quoting the whole key in its body and a header',
      reply: () => {
        const head = readHead('openai-error-401.headers.txt')
        return {
          kind: 'json',
          status: head.status,
          // An upstream header quoting the key must not be passed on either.
          headers: { ...head.headers, 'www-authenticate': `Bearer realm="api", token="${key}"` },
          body: withKey('openai-error-401.json'),
        }
      },
    },
    {
      name: '400 echoing the key in every form',
      reply: () => openAIError(400, echo, null, key),
      shown: true,
    },
    { name: '400 whose code is token_<key>', reply: () => openAIError(400, 'Invalid input', `token_${key}`) },
    { name: '422 as plain text echoing the key', reply: () => json(422, echo, 'text/plain'), shown: true },
    { name: '403 as HTML echoing the key', reply: () => json(403, `<p>${echo}</p>`, 'text/html') },
    {
      name: '404 about the model, naming the key',
      reply: () => openAIError(404, `The model does not exist for ${echo}`, 'model_not_found'),
    },
    {
      name: '429 whose code is the key',
      reply: () => ({
        ...openAIError(429, echo, key),
        headers: { 'content-type': 'application/json', 'retry-after': '0' },
      }),
    },
    { name: '500 echoing the key, with the key as its code', reply: () => openAIError(500, echo, key) },
    { name: 'no answer within UPSTREAM_TIMEOUT_MS', reply: () => ({ kind: 'stall' }), stalls: true },
    { name: 'connection reset', reply: () => ({ kind: 'reset' }) },
  ]

  /** Failures of an OpenAI stream after it began (in band, with status 200). */
  const openaiStream: Failure[] = [
    {
      name: 'an error event (observed nested shape) echoing the key',
      reply: () =>
        sse(
          rewritten('openai-responses-stream-error.sse', 'error', (event) => {
            event.error.message = echo
            event.error.param = key
          }),
        ),
    },
    {
      name: 'an error event (flat spec shape) whose code is the key',
      reply: () => {
        const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
        const flat = { type: 'error', code: `token_${key}`, message: echo, param: key, sequence_number: 2 }
        return sse([created, inProgress, `event: error\ndata: ${JSON.stringify(flat)}\n\n`])
      },
    },
    {
      name: 'an invalid_prompt error event echoing the key, shown to the client',
      reply: () => {
        const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
        const flat = { type: 'error', code: 'invalid_prompt', message: echo, param: null, sequence_number: 2 }
        return sse([created, inProgress, `event: error\ndata: ${JSON.stringify(flat)}\n\n`])
      },
      shown: true,
    },
    {
      name: 'response.failed echoing the key, with the key as its code',
      reply: () =>
        sse(
          rewritten('openai-responses-stream-failed.sse', 'response.failed', (event) => {
            event.response.error = { code: key, message: echo }
          }),
        ),
    },
    {
      name: 'the connection dropped mid-stream',
      reply: () => sse(sseEvents('openai-responses-stream.sse'), { dropAfter: 6 }),
    },
    {
      name: 'a stall mid-stream',
      reply: () => sse(sseEvents('openai-responses-stream.sse'), { stallAfter: 6 }),
      stalls: true,
    },
  ]

  /** Ollama's failures before the first line. */
  const ollama: Failure[] = [
    { name: '400 echoing the key in every form', reply: () => ollamaError(400, echo), shown: true },
    { name: '404 naming the key as the model', reply: () => ollamaError(404, `model '${key}' not found`) },
    { name: '500 echoing the key', reply: () => ollamaError(500, echo) },
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
      name: 'the connection dropped mid-stream',
      reply: () => ({
        kind: 'stream',
        contentType: 'application/x-ndjson',
        chunks: ndjsonLines('ollama-generate-stream.ndjson'),
        dropAfter: 4,
      }),
    },
  ]

  return { openai, openaiStream, ollama, ollamaStream }
}
