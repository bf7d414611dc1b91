import { type Agent, errors as undiciErrors, request as undiciRequest } from 'undici'
import {
  AppError,
  ClientClosedRequestError,
  errorFromUpstreamStatus,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import { readLines } from '../streaming/ndjson.js'
import {
  type CallOptions,
  type ChatProvider,
  type GenerateRequest,
  type GenerateResult,
  type StreamPart,
  timed,
} from './provider.js'

export interface OllamaProviderOptions {
  /** Where Ollama listens, e.g. http://127.0.0.1:11434. */
  host: string
  /** Longest wait for response headers (and, without streaming, the whole body). */
  timeoutMs: number
  /** The app's one keep-alive connection pool. */
  dispatcher: Agent
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
      try {
        return (await body.json()) as OllamaChunk
      } catch (error) {
        throw translateOllamaError(error, options.signal)
      }
    })
    return { text: textOf(answer), model: answer.model ?? request.model }
  }

  async *stream(request: GenerateRequest, options: CallOptions): AsyncGenerator<StreamPart> {
    const body = await this.#post(request, true, options)
    try {
      for await (const line of readLines(body)) {
        const chunk = JSON.parse(line) as OllamaChunk
        // Ollama reports a failure after the first byte as a line with status 200.
        if (chunk.error !== undefined) {
          throw new UpstreamUnavailableError({ logDetail: `upstream error line: ${chunk.error}` })
        }
        if (chunk.done) {
          const finishReason =
            chunk.done_reason === undefined || chunk.done_reason === 'stop' ? 'stop' : chunk.done_reason
          const usage = { inputTokens: chunk.prompt_eval_count, outputTokens: chunk.eval_count }
          yield { type: 'end', finishReason, usage, raw: line }
          return
        }
        yield { type: 'text-delta', text: textOf(chunk), raw: line }
      }
    } catch (error) {
      if (options.signal.aborted) return
      throw error instanceof AppError ? error : translateOllamaError(error, options.signal)
    }
    if (options.signal.aborted) return
    throw new UpstreamUnavailableError({ logDetail: 'upstream stream ended without its done line' })
  }

  #post(request: GenerateRequest, stream: boolean, options: CallOptions) {
    const [only, ...others] = request.messages
    const isPrompt = others.length === 0 && only?.role === 'user'
    const payload = {
      model: request.model,
      ...(isPrompt ? { prompt: only.content } : { messages: request.messages }),
      stream,
      ...(request.temperature === undefined ? {} : { options: { temperature: request.temperature } }),
    }
    const path = isPrompt ? '/api/generate' : '/api/chat'
    return postToOllama(this.#options, path, payload, { stream, model: request.model, call: options })
  }
}

/**
 * One POST to Ollama on the shared pool. Resolves with the body of a 2xx answer; rejects with our typed
 * error for anything else, reading Ollama's `{"error": "..."}` body.
 */
export async function postToOllama(
  ollama: OllamaProviderOptions,
  path: string,
  payload: object,
  { stream, model, call }: { stream: boolean; model: string; call: CallOptions },
) {
  let response: Awaited<ReturnType<typeof undiciRequest>>
  try {
    response = await undiciRequest(new URL(path, ollama.host), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': call.requestId },
      body: JSON.stringify(payload),
      signal: call.signal,
      dispatcher: ollama.dispatcher,
      headersTimeout: ollama.timeoutMs,
      // A stream's gaps are policed by the stream session; a whole answer by this timeout.
      bodyTimeout: stream ? 0 : ollama.timeoutMs,
    })
  } catch (error) {
    throw translateOllamaError(error, call.signal)
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response.body
  const text = await response.body.text().catch(() => '')
  throw errorFromUpstreamStatus({
    status: response.statusCode,
    message: errorMessageOf(text),
    model,
    cause: text,
  })
}

function textOf(chunk: OllamaChunk): string {
  return chunk.response ?? chunk.message?.content ?? ''
}

function errorMessageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    return typeof parsed.error === 'string' ? parsed.error : text
  } catch {
    return text
  }
}

export function translateOllamaError(error: unknown, signal: AbortSignal): AppError {
  if (signal.aborted) return new ClientClosedRequestError({ cause: error })
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamTimeoutError({ cause: error, logDetail: 'Ollama timed out' })
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new UpstreamUnavailableError({ cause: error, logDetail: `Ollama failed: ${detail}` })
}
