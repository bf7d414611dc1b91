/**
 * Typed errors. Adapters translate vendor failures into these at the boundary; the error handler
 * (plugins/error-handler.ts) turns them into FastAPI-shaped responses. `message` is always safe to show.
 */

import { redactSecrets } from './redaction.js'

export interface AppErrorOptions {
  /** The underlying failure, kept for the log only. */
  cause?: unknown
  /** How long the upstream asked us to wait before trying again. */
  retryAfterMs?: number
  /** Why it failed, for the log only (never sent to the client). */
  logDetail?: string
}

export abstract class AppError extends Error {
  /** The HTTP status this error is answered with. */
  abstract readonly statusCode: number
  /** A stable machine-readable code, for logs and metrics. */
  abstract readonly code: string
  /** Whether the same request may succeed if sent again (408, 409, 429, 5xx, network, timeouts). */
  readonly isRetryable: boolean = false
  readonly retryAfterMs: number | undefined
  readonly logDetail: string | undefined
  /** What a stream's last frame calls this failure (`{"error": ...}`); undefined: the generic one. */
  readonly streamCode: string | undefined = undefined

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.retryAfterMs = options.retryAfterMs
    // Masked here, once, however the detail was built: upstream text and codes can quote our key.
    this.logDetail = options.logDetail === undefined ? undefined : redactSecrets(options.logDetail)
  }
}

export class ProviderNotConfiguredError extends AppError {
  readonly statusCode = 503
  readonly code = 'provider_not_configured'
  constructor(provider: string, variable: string) {
    super(`${provider} is not configured: set ${variable} and restart the server`)
  }
}

export class UpstreamBadRequestError extends AppError {
  readonly statusCode = 400
  readonly code = 'upstream_bad_request'
}

export class ModelNotFoundError extends AppError {
  readonly statusCode = 404
  readonly code = 'model_not_found'
  constructor(model: string, options?: AppErrorOptions) {
    super(`model '${model}' not found`, options)
  }
}

export class UpstreamRateLimitError extends AppError {
  readonly statusCode = 429
  readonly code = 'upstream_rate_limited'
  override readonly isRetryable = true
  constructor(options?: AppErrorOptions) {
    super('The AI provider is rate limiting requests; retry later', options)
  }
}

/** The provider refused our own credentials or account (bad key, no quota): the client cannot fix it. */
export class UpstreamAuthError extends AppError {
  readonly statusCode = 502
  readonly code = 'upstream_auth'
  constructor(options?: AppErrorOptions) {
    super('The AI provider refused the request', options)
  }
}

export class UpstreamUnavailableError extends AppError {
  readonly statusCode = 502
  readonly code = 'upstream_unavailable'
  override readonly isRetryable: boolean
  constructor(options: AppErrorOptions & { isRetryable?: boolean } = {}) {
    super('The AI provider is unavailable', options)
    this.isRetryable = options.isRetryable ?? true
  }
}

export class UpstreamTimeoutError extends AppError {
  readonly statusCode = 504
  readonly code = 'upstream_timeout'
  override readonly isRetryable = true
  constructor(options?: AppErrorOptions) {
    super('The AI provider did not answer in time', options)
  }
}

/** Every attempt under the retry policy failed with a retryable error. */
export class ServiceUnavailableError extends AppError {
  readonly statusCode = 503
  readonly code = 'ai_unavailable'
  constructor(options?: AppErrorOptions) {
    super('AI service unavailable', options)
  }
}

export class DocumentNotFoundError extends AppError {
  readonly statusCode = 404
  readonly code = 'document_not_found'
  constructor(id: string) {
    super(`document '${id}' not found`)
  }
}

/** The document store cannot be used: misconfigured (embedding mismatch) or unreachable. */
export class DocumentStoreUnavailableError extends AppError {
  readonly statusCode = 503
  readonly code = 'document_store_unavailable'
}

/** The server is closing; open streams end with this so clients know to retry elsewhere. */
export class ServerShuttingDownError extends AppError {
  readonly statusCode = 503
  readonly code = 'server_shutting_down'
  override readonly isRetryable = true
  constructor() {
    super('The server is shutting down; retry the request')
  }
}

/** A resumable stream cancelled by `DELETE /stream/{id}`: its followers get this as their last frame. */
export class StreamCancelledError extends AppError {
  readonly statusCode = 499
  readonly code = 'stream_cancelled'
  constructor() {
    super('The stream was cancelled')
  }
}

/**
 * A stream id that cannot be followed: unknown, expired, its frames evicted, or started with another API
 * key (one answer for all, so an id's existence does not leak).
 */
export class StreamGoneError extends AppError {
  readonly statusCode = 410
  readonly code = 'stream_gone'
  constructor() {
    super('Unknown or expired stream: it cannot be resumed; start a new one')
  }
}

/** The shared replay log (Redis) cannot be read: whether a stream can be resumed is unknown for now. */
export class ReplayLogUnavailableError extends AppError {
  readonly statusCode = 503
  readonly code = 'replay_log_unavailable'
  override readonly isRetryable = true
  constructor(options?: AppErrorOptions) {
    super('Stream resumption is unavailable right now; retry later', options)
  }
}

/** The client went away; nobody reads the answer, but the log should say so. */
export class ClientClosedRequestError extends AppError {
  readonly statusCode = 499
  readonly code = 'client_closed_request'
  constructor(options?: AppErrorOptions) {
    super('Client closed the request', options)
  }
}

/** No API key, or one the server does not know (FastAPI's HTTPBearer wording). Sent with `WWW-Authenticate: Bearer`. */
export class NotAuthenticatedError extends AppError {
  readonly statusCode = 401
  readonly code = 'not_authenticated'
  constructor(options?: AppErrorOptions) {
    super('Not authenticated', options)
  }
}

/** A valid key whose scope does not cover the route. */
export class InsufficientScopeError extends AppError {
  readonly statusCode = 403
  readonly code = 'insufficient_scope'
  constructor(keyScope: string, needed: string) {
    super(`this API key's scope '${keyScope}' does not allow this request: it needs '${needed}'`)
  }
}

/** With no API keys, a browser on another site tried a request that spends or changes something. */
export class CrossSiteRequestRefusedError extends AppError {
  readonly statusCode = 403
  readonly code = 'cross_site_refused'
  constructor(reason: string) {
    super(`cross-site request refused: ${reason}`)
  }
}

/** A feature that needs configuration the server does not have (e.g. stream tokens without API keys). */
export class NotConfiguredError extends AppError {
  readonly statusCode = 404
  readonly code = 'not_configured'
}

/**
 * This client (its API key, or its IP when keys are off) is over one of our limits: requests per window
 * or concurrent streams. One class for every 429 of ours, so one hook can count them (code `rate_limited`).
 */
export class RateLimitedError extends AppError {
  readonly statusCode = 429
  readonly code = 'rate_limited'
  constructor(
    /** Which limit: the request rate, or the open streams. */
    readonly limit: 'requests' | 'streams',
    reason: string,
    retryAfterMs: number,
  ) {
    super(`Too many requests: ${reason}`, { retryAfterMs })
  }
}

/** This API key used its tokens for the period (TOKEN_BUDGET_PER_KEY): refused before any upstream call. */
export class TokenBudgetExceededError extends AppError {
  readonly statusCode = 429
  readonly code = 'token_budget_exceeded'
  constructor(budget: number, period: string, resetsAt: Date, retryAfterMs: number) {
    super(`token budget of ${budget} tokens per ${period} used up; resets at ${resetsAt.toISOString()}`, {
      retryAfterMs,
    })
  }
}

/** The shared limit counters (Redis) cannot be reached and RATE_LIMIT_REDIS_FAILURE is `closed`. */
export class LimitsUnavailableError extends AppError {
  readonly statusCode = 503
  readonly code = 'limits_unavailable'
  override readonly isRetryable = true
  constructor(options?: AppErrorOptions) {
    super('Rate limits cannot be checked right now; retry later', options)
  }
}

/** A bug of ours; the log has the cause, the client a generic message. */
export class InternalServerError extends AppError {
  readonly statusCode = 500
  readonly code = 'internal_error'
  constructor(options?: AppErrorOptions) {
    super('Internal Server Error', options)
  }
}

export interface RequestIssue {
  /** Where the bad value is, FastAPI style: ['body', 'messages', 0, 'role']. */
  loc: (string | number)[]
  /** What is wrong, for a person. */
  msg: string
  /** A stable kind, e.g. 'missing', 'json_invalid'. */
  type: string
}

/** Client input that no schema could reject on its own (e.g. a field that may come from two places). */
export class RequestValidationError extends AppError {
  readonly statusCode = 422
  readonly code: string = 'request_validation'
  constructor(readonly issues: RequestIssue[]) {
    super(issues.map((issue) => `${issue.loc.join('.')}: ${issue.msg}`).join('; '))
  }
}

/**
 * Text the content policy refuses (README "Moderation"): an input, answered 422 naming where it is, or
 * an answer, withheld (422 for a whole one, the last frame of a stream). It names the rule, never the
 * text that matched, in the response and in the log.
 */
export class ContentPolicyError extends RequestValidationError {
  override readonly code = 'content_filtered'
  override readonly streamCode = 'content_filtered'

  private constructor(
    /** The id of the rule that refused the text (`openai:<category>` for OpenAI's moderation). */
    readonly rule: string,
    issue: RequestIssue,
  ) {
    super([issue])
    // The issue's own words: a stream's last frame has no `loc` to prefix.
    this.message = issue.msg
  }

  /** An input at `loc` (e.g. ['body', 'messages', 0, 'content']) breaks `rule`. */
  static input(rule: string, loc: (string | number)[]): ContentPolicyError {
    return new ContentPolicyError(rule, {
      loc,
      msg: `Refused by the content policy (rule ${rule})`,
      type: 'content_policy',
    })
  }

  /** The model's answer breaks `rule`: it is not sent. */
  static output(rule: string): ContentPolicyError {
    return new ContentPolicyError(rule, {
      loc: ['response'],
      msg: `The answer was withheld by the content policy (rule ${rule})`,
      type: 'content_filtered',
    })
  }
}

/** MODERATION_OPENAI is on and OpenAI's moderation could not be asked: inputs are refused (fail closed). */
export class ModerationUnavailableError extends AppError {
  readonly statusCode = 503
  readonly code = 'moderation_unavailable'
  override readonly isRetryable = true
  constructor(options?: AppErrorOptions) {
    super('Content moderation is unavailable; retry later', options)
  }
}
