import type {
  Response as OpenAIResponse,
  ResponseCreateParamsBase,
  ResponseUsage,
} from 'openai/resources/responses/responses'
import {
  type AppError,
  UpstreamBadRequestError,
  UpstreamRateLimitError,
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
import { PROGRESS, type RelayedEvent, ResponseEventDecoder } from './responses-events.js'
import { sanitizeUpstreamMessage } from './upstream-errors.js'
import { postJson, readJson, streamParts, type UpstreamEndpoint } from './upstream-http.js'

export interface OpenAIOptions extends UpstreamEndpoint {
  /** The API key; never logged. */
  apiKey: string
  /** Any Responses-compatible endpoint, e.g. https://api.openai.com/v1. */
  baseURL: string
  /** Sent as OpenAI-Organization / OpenAI-Project when set, as the SDK does. */
  organization?: string
  project?: string
}

/** One JSON POST to an OpenAI endpoint (`path` under the base URL): the 2xx body, else our typed error. */
export function postToOpenAI(
  openai: OpenAIOptions,
  path: string,
  payload: object,
  { stream, model, call }: { stream: boolean; model: string; call: CallOptions },
) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${openai.apiKey}`,
    accept: stream ? 'text/event-stream' : 'application/json',
  }
  if (openai.organization) headers['openai-organization'] = openai.organization
  if (openai.project) headers['openai-project'] = openai.project
  const url = `${openai.baseURL.replace(/\/+$/, '')}${path}`
  return postJson(openai, url, { upstream: 'OpenAI', headers, payload, stream, model, call })
}

/**
 * OpenAI Responses API adapter: one pooled undici request per call, the wire types from the official
 * `openai` package. The SDK's request path cost ~0.3 ms of CPU per call, more than two whole
 * baseline requests (BENCHMARKS.md); the app's retry policy is the only one.
 */
export class OpenAIProvider implements ChatProvider {
  readonly #options: OpenAIOptions

  constructor(options: OpenAIOptions) {
    this.#options = options
  }

  async generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    const response = await timed(options, async () => {
      const body = await this.#post(request, false, options)
      return readJson<OpenAIResponse>(body, options, 'OpenAI', this.#options.maxAnswerBytes)
    })
    return {
      text: readOutputText(response),
      model: response.model ?? request.model,
      usage: usageOf(response.usage),
    }
  }

  stream(request: GenerateRequest, options: CallOptions): AsyncGenerator<StreamPart> {
    return streamParts(
      () => this.#post(request, true, options),
      options,
      'OpenAI',
      new ResponseEventDecoder(this.#options.maxEventBytes),
      partOf,
    )
  }

  #post(request: GenerateRequest, stream: boolean, options: CallOptions) {
    const payload = { ...requestBody(request), stream }
    return postToOpenAI(this.#options, '/responses', payload, { stream, model: request.model, call: options })
  }
}

/** The part an upstream event stands for; a failure event throws its typed error. */
function partOf(event: RelayedEvent): StreamPart {
  switch (event.type) {
    case 'response.created':
      return { type: 'start', model: event.response.model }
    case 'response.output_text.delta':
      return { type: 'text-delta', text: event.delta }
    case 'response.completed':
      return { type: 'end', finishReason: 'stop', usage: usageOf(event.response.usage) }
    case 'response.incomplete': {
      const reason = event.response.incomplete_details?.reason ?? 'incomplete'
      return { type: 'end', finishReason: reason, usage: usageOf(event.response.usage) }
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
      return PROGRESS
  }
}

function requestBody(request: GenerateRequest): ResponseCreateParamsBase {
  const body: ResponseCreateParamsBase = { model: request.model, input: request.messages, store: false }
  // Reasoning models (gpt-5, o-series) answer 400 to any temperature: send it only when asked.
  if (request.temperature !== undefined) body.temperature = request.temperature
  return body
}

function usageOf(usage: ResponseUsage | null | undefined): Usage | undefined {
  if (!usage) return undefined
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    reasoningTokens: usage.output_tokens_details?.reasoning_tokens,
  }
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
