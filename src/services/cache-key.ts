import { hash } from 'node:crypto'
import type { GenerateRequest } from '../providers/provider.js'

/** Everything an answer depends on: who runs the model, the request sent to it, what else it is made from. */
export interface AnswerSubject {
  /** Where the model runs (a ModelHost). */
  host: string
  request: GenerateRequest
  /** The ids of the passages /rag retrieved, or anything else beside the request that shapes the answer. */
  scope?: readonly string[]
}

/**
 * The cache key of an answer: the SHA-256 of a canonical JSON of its subject. Canonical by construction:
 * a JSON array whose positions name the fields (version, host, model, temperature, each message's role
 * and content, the scope), so no object's member order can make two keys of one subject, and JSON's
 * escaping keeps one message's text from passing for the boundary between two. 2.4 µs for a one-message
 * request on a loaded 2-CPU machine (`crypto.hash`: half of createHash's cost; a generic sorted-keys
 * canonicaliser took 2.5 µs for the JSON alone). The
 * API key's name is not part of it: two clients asking the same question share the answer (README
 * "Response cache and coalescing").
 */
export function answerKey(subject: AnswerSubject): string {
  const { host, request, scope } = subject
  const messages = request.messages.map((message) => [message.role, message.content])
  const canonical = JSON.stringify([
    1,
    host,
    request.model,
    request.temperature ?? null,
    messages,
    scope ?? null,
  ])
  return hash('sha256', canonical, 'hex')
}
