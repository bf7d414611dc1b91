import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError, type ClientOptions } from 'openai'
import type {
  Response as OpenAIResponse,
  ResponseCreateParamsNonStreaming,
} from 'openai/resources/responses/responses'
import { type Agent, fetch as undiciFetch } from 'undici'
import {
  type AppError,
  ClientClosedRequestError,
  errorFromUpstreamStatus,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import type { CallOptions, ChatProvider, GenerateRequest, GenerateResult } from './provider.js'
import { parseRetryAfterMs } from './retry-after.js'

export interface OpenAIProviderOptions {
  /** The API key; never logged. */
  apiKey: string
  /** Any Responses-compatible endpoint; the SDK default when undefined. */
  baseURL?: string
  /** Per-attempt upstream timeout. */
  timeoutMs: number
  /** The app's one keep-alive connection pool. */
  dispatcher: Agent
}

/** OpenAI Responses API adapter. The SDK never retries: the app's retry policy is the only one. */
export class OpenAIProvider implements ChatProvider {
  readonly #client: OpenAI

  constructor(options: OpenAIProviderOptions) {
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs,
      maxRetries: 0,
      // undici's own fetch with its own Agent: Node's bundled fetch may not accept a newer dispatcher.
      fetch: undiciFetch as unknown as typeof globalThis.fetch,
      fetchOptions: { dispatcher: options.dispatcher } as unknown as ClientOptions['fetchOptions'],
    })
  }

  async generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    const body: ResponseCreateParamsNonStreaming = {
      model: request.model,
      input: request.messages,
      store: false,
    }
    // Reasoning models (gpt-5, o-series) answer 400 to any temperature: send it only when asked.
    if (request.temperature !== undefined) body.temperature = request.temperature
    try {
      const response = await this.#client.responses.create(body, {
        signal: options.signal,
        headers: { 'x-request-id': options.requestId },
      })
      return { text: readOutputText(response), model: response.model }
    } catch (error) {
      throw translateOpenAIError(error, request.model, options.signal)
    }
  }
}

/** Joins the text of every message item, wherever it sits (reasoning models put a reasoning item first). */
export function readOutputText(response: Pick<OpenAIResponse, 'output'>): string {
  let text = ''
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue
    for (const part of item.content) {
      if (part.type === 'output_text') text += part.text
      else if (part.type === 'refusal') text += part.refusal
    }
  }
  return text
}

/** Maps whatever the SDK threw to one of our typed errors. */
export function translateOpenAIError(error: unknown, model: string, signal?: AbortSignal): AppError {
  if (error instanceof APIUserAbortError || signal?.aborted)
    return new ClientClosedRequestError({ cause: error })
  if (error instanceof APIConnectionTimeoutError) {
    return new UpstreamTimeoutError({ cause: error, logDetail: 'upstream timed out' })
  }
  if (error instanceof APIError && error.status !== undefined) {
    const body = error.error as { message?: unknown } | undefined
    return errorFromUpstreamStatus({
      status: error.status,
      message: typeof body?.message === 'string' ? body.message : error.message,
      code: error.code,
      model,
      retryAfterMs: parseRetryAfterMs(error.headers),
      cause: error,
    })
  }
  // Connection refused or reset, DNS failure, malformed upstream body: all "the upstream failed us".
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new UpstreamUnavailableError({ cause: error, logDetail: `upstream connection failed: ${detail}` })
}
