import { readFixture } from '../fixtures.js'
import { FakeUpstream, type UpstreamReply } from './upstream.js'

/** A fake Ollama: streams the recorded /api/generate NDJSON unless told otherwise. */
export function startFakeOllama(): Promise<FakeUpstream> {
  return FakeUpstream.start({ defaultReply: ndjsonReply() })
}

/** The lines of a recorded NDJSON fixture, each with its `\n`. */
export function ndjsonLines(fixture: string): string[] {
  return readFixture(fixture)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `${line}\n`)
}

export function ndjsonReply(
  fixture = 'ollama-generate-stream.ndjson',
  options: Omit<Extract<UpstreamReply, { kind: 'stream' }>, 'kind' | 'contentType' | 'chunks'> = {},
): UpstreamReply {
  return { kind: 'stream', contentType: 'application/x-ndjson', chunks: ndjsonLines(fixture), ...options }
}

/** Ollama's JSON answers and errors: compact, `application/json; charset=utf-8`. */
export function ollamaJsonReply(fixture: string, status = 200): UpstreamReply {
  return {
    kind: 'json',
    status,
    body: readFixture(fixture),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  }
}

/** The recorded /api/generate stream with its text lines replaced by one per `texts` item, in order. */
export function ndjsonTextReply(
  texts: string[],
  options: Omit<Extract<UpstreamReply, { kind: 'stream' }>, 'kind' | 'contentType' | 'chunks'> = {},
): UpstreamReply {
  const lines = ndjsonLines('ollama-generate-stream.ndjson')
  const template = JSON.parse(lines[0] ?? '{}')
  const last = lines.at(-1) ?? ''
  const chunks = [...texts.map((response) => `${JSON.stringify({ ...template, response })}\n`), last]
  return { kind: 'stream', contentType: 'application/x-ndjson', chunks, ...options }
}
