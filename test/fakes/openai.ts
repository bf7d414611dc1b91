import { readFixture, readHead } from '../fixtures.js'
import { lexicalEmbedding } from './lexical-embedding.js'
import { FakeUpstream, type ReceivedRequest, type UpstreamReply } from './upstream.js'

/** A fake OpenAI Responses API: answers the recorded non-stream response unless told otherwise. */
export function startFakeOpenAI(): Promise<FakeUpstream> {
  return FakeUpstream.start({ basePath: '/v1', defaultReply: okReply() })
}

/**
 * A JSON reply replaying a recorded fixture: `openai-error-429` uses the .json and .headers.txt pair;
 * `head` borrows the status and headers of another fixture when the body has none of its own.
 */
export function fixtureReply(
  name: string,
  options: { head?: string; headers?: Record<string, string> } = {},
): UpstreamReply {
  const head = readHead(`${options.head ?? name}.headers.txt`)
  return {
    kind: 'json',
    status: head.status,
    body: readFixture(`${name}.json`),
    headers: { ...head.headers, ...options.headers },
  }
}

/** A JSON error in OpenAI's envelope with any status. */
export function errorReply(status: number, message = 'fake upstream failure'): UpstreamReply {
  const body = `${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } }, null, 2)}\n`
  return { kind: 'json', status, body, headers: { 'content-type': 'application/json' } }
}

export const okReply = (): UpstreamReply => fixtureReply('openai-response')

/** The events of a recorded Responses stream, one `event:`/`data:` block each. */
export function sseEvents(fixture: string): string[] {
  return readFixture(fixture)
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => `${block}\n\n`)
}

/** A Responses stream replaying a fixture, optionally dripping, dropping or stalling. */
export function sseReply(
  fixture = 'openai-responses-stream.sse',
  options: Omit<Extract<UpstreamReply, { kind: 'stream' }>, 'kind' | 'contentType' | 'chunks'> = {},
): UpstreamReply {
  return {
    kind: 'stream',
    contentType: 'text/event-stream; charset=utf-8',
    chunks: sseEvents(fixture),
    ...options,
  }
}

/**
 * The recorded stream stretched to `deltas` text deltas of `text` each: the same wire format, any length.
 */
export function longSseReply(
  deltas: number,
  text = 'word ',
  options: Partial<Extract<UpstreamReply, { kind: 'stream' }>> = {},
): UpstreamReply {
  return textDeltasReply(
    Array.from({ length: deltas }, () => text),
    options,
  )
}

/** The recorded stream with its text deltas replaced by one per `texts` item, in order. */
export function textDeltasReply(
  texts: string[],
  options: Partial<Extract<UpstreamReply, { kind: 'stream' }>> = {},
): UpstreamReply {
  const events = sseEvents('openai-responses-stream.sse')
  const isDelta = (event: string) => event.startsWith('event: response.output_text.delta')
  const template = JSON.parse((events.find(isDelta) ?? '').split('data: ')[1] ?? '{}')
  const before = events.slice(0, events.findIndex(isDelta))
  const after = events.slice(events.findLastIndex(isDelta) + 1)
  const middle = texts.map(
    (delta) => `event: response.output_text.delta\ndata: ${JSON.stringify({ ...template, delta })}\n\n`,
  )
  return {
    kind: 'stream',
    contentType: 'text/event-stream; charset=utf-8',
    chunks: [...before, ...middle, ...after],
    ...options,
  }
}

/**
 * Answers `POST /v1/embeddings` as OpenAI does, from each input's lexical embedding: honours
 * `dimensions` and `encoding_format` (the SDK asks for base64, little-endian float32).
 */
export function embeddingsReply(request: ReceivedRequest, defaultDimensions = 1536): UpstreamReply {
  const body = request.json ?? {}
  const inputs = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)]
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : defaultDimensions
  const data = inputs.map((input, index) => {
    const vector = lexicalEmbedding(input, dimensions)
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector)
    return { object: 'embedding', index, embedding }
  })
  const usage = { prompt_tokens: inputs.length, total_tokens: inputs.length }
  return {
    kind: 'json',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ object: 'list', data, model: body.model, usage }),
  }
}

/** A fake OpenAI serving embeddings and, for /responses, the recorded answer (or `answer`). */
export function openAIWithEmbeddings(answer: () => UpstreamReply = okReply): UpstreamReply {
  return {
    kind: 'dynamic',
    respond: (request) => (request.url.endsWith('/embeddings') ? embeddingsReply(request) : answer()),
  }
}

/**
 * Answers `POST /v1/moderations` from the fixture written from OpenAI's documented shape
 * (fixtures/moderation/): each input gets the fixture's flagged result when `isFlagged` says so, its
 * clean one otherwise.
 */
export function moderationsReply(
  request: ReceivedRequest,
  isFlagged: (text: string) => boolean,
): UpstreamReply {
  const recorded = JSON.parse(readFixture('moderation/openai-moderations.json'))
  const [clean, flagged] = recorded.results
  const input = request.json?.input
  const inputs = Array.isArray(input) ? (input as string[]) : [String(input)]
  const results = inputs.map((text) => (isFlagged(text) ? flagged : clean))
  return {
    kind: 'json',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...recorded, results }, null, 2),
  }
}

/** A fake OpenAI whose moderation flags inputs containing `marker`, answering anything else with `answer`. */
export function openAIWithModeration(marker: string, answer: () => UpstreamReply = okReply): UpstreamReply {
  return {
    kind: 'dynamic',
    respond: (request) =>
      request.url.endsWith('/moderations')
        ? moderationsReply(request, (text) => text.includes(marker))
        : answer(),
  }
}
