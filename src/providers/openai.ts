import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai'
import type {
  Response as OpenAIResponse,
  ResponseCreateParamsBase,
  ResponseUsage,
} from 'openai/resources/responses/responses'
import type { Agent } from 'undici'
import {
  AppError,
  ClientClosedRequestError,
  errorFromUpstreamStatus,
  sanitizeUpstreamMessage,
  UpstreamBadRequestError,
  UpstreamRateLimitError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import {
  type CallOptions,
  type ChatProvider,
  type GenerateRequest,
  type GenerateResult,
  type StreamPart,
  timed,
  type Usage,
} from './provider.js'
import { readResponseEvents } from './responses-events.js'
import { parseRetryAfterMs } from './retry-after.js'
import { bodyOf, createUndiciFetch } from './undici-fetch.js'

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
/** The SDK client, set up once: our pool, our timeout, and no retries of its own. */
export function createOpenAIClient(options: OpenAIProviderOptions): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    timeout: options.timeoutMs,
    maxRetries: 0,
    fetch: createUndiciFetch(options.dispatcher),
  })
}

export class OpenAIProvider implements ChatProvider {
  readonly #client: OpenAI

  constructor(client: OpenAI) {
    this.#client = client
  }

  async generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    try {
      const response = await timed(options, () =>
        this.#client.responses.create({ ...requestBody(request), stream: false }, requestOptions(options)),
      )
      return { text: readOutputText(response), model: response.model }
    } catch (error) {
      throw translateOpenAIError(error, request.model, options.signal)
    }
  }

  async *stream(request: GenerateRequest, options: CallOptions): AsyncGenerator<StreamPart> {
    try {
      // The SDK sends the request and turns an error status into its typed error; the body is ours.
      const response = await this.#client.responses
        .create({ ...requestBody(request), stream: true }, requestOptions(options))
        .asResponse()
      for await (const event of readResponseEvents(bodyOf(response))) {
        switch (event.type) {
          case 'response.created':
            yield { type: 'start', model: event.response.model }
            break
          case 'response.output_text.delta':
            yield { type: 'text-delta', text: event.delta }
            break
          case 'response.completed':
            yield { type: 'end', finishReason: 'stop', usage: usageOf(event.response.usage) }
            return
          case 'response.incomplete': {
            const reason = event.response.incomplete_details?.reason ?? 'incomplete'
            yield { type: 'end', finishReason: reason, usage: usageOf(event.response.usage) }
            return
          }
          case 'response.failed': {
            const failure = event.response.error
            throw errorFromStreamFailure(failure?.code, failure?.message, event.type)
          }
          case 'error': {
            // Observed live with the error nested under `error`; the spec has it flat.
            const flat = event as unknown as {
              code?: string | null
              message?: string
              error?: { code?: string; message?: string }
            }
            const failure = flat.error ?? flat
            throw errorFromStreamFailure(failure.code, failure.message, 'error event')
          }
          default:
            yield { type: 'progress' }
        }
      }
    } catch (error) {
      if (options.signal.aborted && !(error instanceof AppError)) return
      throw error instanceof AppError ? error : translateOpenAIError(error, request.model, options.signal)
    }
    // An abort mid-stream can end the body silently; the caller knows why it aborted.
    if (options.signal.aborted) return
    throw new UpstreamUnavailableError({ logDetail: 'upstream stream ended without a terminal event' })
  }
}

function requestBody(request: GenerateRequest): ResponseCreateParamsBase {
  const body: ResponseCreateParamsBase = { model: request.model, input: request.messages, store: false }
  // Reasoning models (gpt-5, o-series) answer 400 to any temperature: send it only when asked.
  if (request.temperature !== undefined) body.temperature = request.temperature
  return body
}

export function requestOptions(options: CallOptions) {
  return { signal: options.signal, headers: { 'x-request-id': options.requestId } }
}

function usageOf(usage: ResponseUsage | null | undefined): Usage | undefined {
  return usage ? { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens } : undefined
}

const RATE_LIMIT_CODES = new Set(['rate_limit_exceeded', 'too_many_requests'])

/** An in-band stream failure (`response.failed` or an `error` event), which has a code but no status. */
function errorFromStreamFailure(
  code: string | null | undefined,
  message: string | undefined,
  source: string,
): AppError {
  const logDetail = `upstream ${source} ${code ?? 'no code'}: ${message ?? ''}`
  if (code && RATE_LIMIT_CODES.has(code)) return new UpstreamRateLimitError({ logDetail })
  if (code === 'invalid_prompt')
    return new UpstreamBadRequestError(sanitizeUpstreamMessage(message ?? ''), { logDetail })
  return new UpstreamUnavailableError({ logDetail })
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
