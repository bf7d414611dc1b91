import { readFixture, readHead } from '../fixtures.js'
import { echoOf, endless, type Failure, json } from './failure-replies.js'
import { ollamaKeyEchoes } from './key-echoing-ollama.js'
import { sseEvents } from './openai.js'
import type { UpstreamReply } from './upstream.js'

/*
 * Upstream failures that quote a secret back, the way careless upstreams and proxies do: in the error
 * message (plain, `Bearer <key>`, `token_<key>`, inside JSON, in a query string), as the error code,
 * type and param, in a header of every reply; answers, events and lines past the app's bounds made of
 * the key; plus the failures that carry no text (stalls, resets, dropped streams), for the same routes.
 */

const openAIError = (
  status: number,
  message: string,
  code: string | null,
  param: string | null = null,
  type = 'invalid_request_error',
) => json(status, { error: { message, type, param, code } })

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

/** The reply with the key in a response header too (no upstream header may be passed on). */
function withEchoHeader(reply: UpstreamReply, key: string): UpstreamReply {
  if (reply.kind !== 'json' && reply.kind !== 'stream') return reply
  return { ...reply, headers: { ...reply.headers, 'x-upstream-echo': `token ${key}` } }
}

/** Every failure, each upstream and phase apart, quoting `key`. */
export function keyEchoingFailures(key: string) {
  const failures = { ...openAIKeyEchoes(key), ...ollamaKeyEchoes(key) }
  const echoing = (list: Failure[]) =>
    list.map((failure) => ({ ...failure, reply: () => withEchoHeader(failure.reply(), key) }))
  return {
    openai: echoing(failures.openai),
    openaiStream: echoing(failures.openaiStream),
    ollama: echoing(failures.ollama),
    ollamaStream: echoing(failures.ollamaStream),
  }
}

/** OpenAI's failures quoting `key`, before and after a stream began. */
function openAIKeyEchoes(key: string) {
  const echo = echoOf(key)
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
    {
      name: '400 with the key in every field: message, type, param and code',
      reply: () => openAIError(400, echo, key, key, key),
      shown: true,
    },
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
    {
      name: '500 whose error body never ends, quoting the key over and over',
      reply: () => endless(500, 'application/json', `{"error":{"message":"`, key),
    },
    {
      name: '200 whose answer never ends (past every bound), quoting the key over and over',
      reply: () => endless(200, 'application/json', '{"output_text":"', key),
    },
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
      name: 'an event past UPSTREAM_MAX_EVENT_BYTES, quoting the key over and over',
      reply: () => {
        const [created = '', inProgress = ''] = sseEvents('openai-responses-stream.sse')
        const head = `${created}${inProgress}event: response.output_text.delta\ndata: {"delta":"`
        return endless(200, 'text/event-stream; charset=utf-8', head, key)
      },
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

  return { openai, openaiStream }
}
