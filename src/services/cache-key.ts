import { createHash } from 'node:crypto'
import type { GenerateRequest } from '../providers/provider.js'

/** Everything an answer depends on: who runs the model, the request sent to it, what else it is made from. */
export interface AnswerSubject {
  /** Where the model runs (a ModelHost). */
  host: string
  request: GenerateRequest
  /** The passages /rag retrieved, or anything else beside the request that shapes the answer. */
  scope?: unknown
}

/**
 * The cache key of an answer: the SHA-256 of the canonical JSON of its subject (object keys sorted, so
 * `{"role","content"}` and `{"content","role"}` are one key). The API key's name is not part of it: two
 * clients asking the same question share the answer (README "Response cache and coalescing").
 */
export function answerKey(subject: AnswerSubject): string {
  const { host, request, scope } = subject
  const canonical = canonicalJson({
    v: 1,
    host,
    model: request.model,
    messages: request.messages,
    temperature: request.temperature,
    scope,
  })
  return createHash('sha256').update(canonical).digest('hex')
}

/** JSON with every object's keys in sorted order and `undefined` members left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  const members = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
  return `{${members.join(',')}}`
}
