import {
  type AppError,
  ModelNotFoundError,
  UpstreamAuthError,
  UpstreamBadRequestError,
  UpstreamRateLimitError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js'
import { redactSecrets } from '../redaction.js'

/**
 * Upstream HTTP failures as our typed errors, for both adapters (upstream-http.ts, openai.ts): which
 * status means what, and what of the upstream's own text a client may see.
 */

export interface UpstreamFailure {
  /** The upstream HTTP status. */
  status: number
  /** The upstream's own error text; shown only where it is the caller's fault (4xx), sanitised. */
  message?: string
  /** The upstream's error code, e.g. 'model_not_found', 'insufficient_quota'. */
  code?: string | null
  /** The model we asked for, named in a 404. */
  model: string
  retryAfterMs?: number
  cause?: unknown
}

/** The one place an upstream HTTP status becomes one of our typed errors. */
export function errorFromUpstreamStatus(failure: UpstreamFailure): AppError {
  const { status, model, retryAfterMs, cause } = failure
  const upstreamText = failure.message ?? ''
  const logDetail = `upstream ${status}${failure.code ? ` ${failure.code}` : ''}: ${redactSecrets(upstreamText)}`
  const options = { cause, retryAfterMs, logDetail }
  if (status === 401 || status === 403) return new UpstreamAuthError(options)
  if (status === 404) {
    // A 404 that does not talk about a model means our base URL is wrong, not the caller's model.
    const aboutModel = failure.code === 'model_not_found' || /model/i.test(upstreamText)
    return aboutModel
      ? new ModelNotFoundError(model, options)
      : new UpstreamUnavailableError({ ...options, isRetryable: false })
  }
  if (status === 429) {
    // An exhausted quota needs the operator, not a retry from the client.
    return failure.code === 'insufficient_quota'
      ? new UpstreamAuthError(options)
      : new UpstreamRateLimitError(options)
  }
  if (status === 408) return new UpstreamTimeoutError(options)
  if (status === 409 || status >= 500) return new UpstreamUnavailableError(options)
  if (status === 400 || status === 413 || status === 422) {
    return new UpstreamBadRequestError(sanitizeUpstreamMessage(upstreamText), options)
  }
  return new UpstreamUnavailableError({ ...options, isRetryable: false })
}

const MAX_UPSTREAM_MESSAGE_LENGTH = 300

/** Makes an upstream 4xx message fit to show a client: no secrets, no control characters, bounded. */
export function sanitizeUpstreamMessage(text: string): string {
  const clean = redactSecrets(text)
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
  if (clean === '') return 'The AI provider rejected the request'
  return clean.length > MAX_UPSTREAM_MESSAGE_LENGTH
    ? `${clean.slice(0, MAX_UPSTREAM_MESSAGE_LENGTH)}…`
    : clean
}
