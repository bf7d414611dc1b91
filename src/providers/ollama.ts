import { UpstreamUnavailableError } from '../errors.js'
import { LineDecoder } from './line-decoder.js'
import {
  type CallOptions,
  type ChatProvider,
  type GenerateRequest,
  type GenerateResult,
  type StreamPart,
  timed,
  type Usage,
} from './provider.js'
import { postJson, readJson, streamParts, type UpstreamEndpoint } from './upstream-http.js'

export interface OllamaProviderOptions extends UpstreamEndpoint {
  /** Where Ollama listens, e.g. http://127.0.0.1:11434. */
  host: string
}

/** The final line of an Ollama answer, and the whole body without streaming. */
interface OllamaChunk {
  model?: string
  response?: string
  message?: { content?: string }
  done?: boolean
  done_reason?: string
  prompt_eval_count?: number
  eval_count?: number
  error?: string
}

/**
 * Ollama's native API over undici (no SDK: a request is one pooled HTTP call). A lone user message goes
 * to /api/generate as `prompt`, exactly as the chapter sends it, so /local-stream relays the lines its
 * clients expect; a conversation goes to /api/chat.
 */
export class OllamaProvider implements ChatProvider {
  readonly #options: OllamaProviderOptions

  constructor(options: OllamaProviderOptions) {
    this.#options = options
  }

  async generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    const answer = await timed(options, async () => {
      const body = await this.#post(request, false, options)
      return readJson<OllamaChunk>(body, options, 'Ollama', this.#options.maxAnswerBytes)
    })
    if (answer.error !== undefined) throw errorLine(answer.error)
    return { text: textOf(answer), model: answer.model ?? request.model, usage: usageOf(answer) }
  }

  stream(request: GenerateRequest, options: CallOptions): AsyncGenerator<StreamPart> {
    const lines = new LineDecoder(this.#options.maxEventBytes)
    return streamParts(() => this.#post(request, true, options), options, 'Ollama', lines, partOf)
  }

  #post(request: GenerateRequest, stream: boolean, options: CallOptions) {
    const prompt = promptOf(request)
    const payload = {
      model: request.model,
      ...(prompt === undefined ? { messages: request.messages } : { prompt }),
      stream,
      ...(request.temperature === undefined ? {} : { options: { temperature: request.temperature } }),
    }
    const path = prompt === undefined ? '/api/chat' : '/api/generate'
    return postToOllama(this.#options, path, payload, { stream, model: request.model, call: options })
  }
}

/** The prompt of a request that is one user message (sent to /api/generate), else undefined (/api/chat). */
function promptOf(request: GenerateRequest): string | undefined {
  const [only, ...others] = request.messages
  return others.length === 0 && only?.role === 'user' ? only.content : undefined
}

/**
 * A whole answer known in advance (a cached one) as the stream Ollama would have sent for `request`: one
 * line with the text, then the `done` line, in /api/generate's shape (`response`) or /api/chat's
 * (`message`), so /local-stream relays the lines its clients expect. `createdAt` is when it was answered.
 */
export function ollamaAnswerParts(
  request: GenerateRequest,
  answer: { text: string; model: string },
  createdAt: Date,
): [StreamPart, ...StreamPart[]] {
  const generated = promptOf(request) !== undefined
  const line = (text: string, done: object) =>
    JSON.stringify({
      model: answer.model,
      created_at: createdAt.toISOString(),
      ...(generated ? { response: text } : { message: { role: 'assistant', content: text } }),
      ...done,
    })
  return [
    { type: 'text-delta', text: answer.text, raw: line(answer.text, { done: false }) },
    { type: 'end', finishReason: 'stop', raw: line('', { done: true, done_reason: 'stop' }) },
  ]
}

/** One POST to Ollama on the shared pool: the body of a 2xx answer, else our typed error. */
export function postToOllama(
  ollama: OllamaProviderOptions,
  path: string,
  payload: object,
  { stream, model, call }: { stream: boolean; model: string; call: CallOptions },
) {
  return postJson(ollama, new URL(path, ollama.host), { upstream: 'Ollama', payload, stream, model, call })
}

/** The part one NDJSON line stands for, carrying the line itself for /local-stream's relay. */
function partOf(line: string): StreamPart {
  const chunk = JSON.parse(line) as OllamaChunk
  // Ollama reports a failure after the first byte as a line with status 200.
  if (chunk.error !== undefined) throw errorLine(chunk.error)
  if (!chunk.done) return { type: 'text-delta', text: textOf(chunk), raw: line }
  const finishReason =
    chunk.done_reason === undefined || chunk.done_reason === 'stop' ? 'stop' : chunk.done_reason
  return { type: 'end', finishReason, usage: usageOf(chunk), raw: line }
}

function usageOf(chunk: OllamaChunk): Usage {
  return { inputTokens: chunk.prompt_eval_count, outputTokens: chunk.eval_count }
}

/** A 200 answer (or line) that is an error: the upstream failing, as a 5xx would be. */
function errorLine(error: string) {
  return new UpstreamUnavailableError({ logDetail: `upstream error line: ${error}` })
}

function textOf(chunk: OllamaChunk): string {
  return chunk.response ?? chunk.message?.content ?? ''
}
