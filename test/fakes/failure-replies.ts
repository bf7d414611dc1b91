import type { UpstreamReply } from './upstream.js'

/** The shared pieces of the key-echoing failures (key-echoing-failures.ts, key-echoing-ollama.ts). */

/** One scripted failure of an upstream. */
export interface Failure {
  name: string
  reply: () => UpstreamReply
  /** The upstream's message reaches the client (a 4xx the caller can act on): it must arrive redacted. */
  shown?: boolean
  /** The upstream stalls: only a timeout ends the call. */
  stalls?: boolean
}

/** A whole answer with any status, its body JSON-encoded unless it is text already. */
export const json = (status: number, body: unknown, contentType = 'application/json'): UpstreamReply => ({
  kind: 'json',
  status,
  headers: { 'content-type': contentType },
  body: typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`,
})

/** A body that never ends: `head`, then `key` and a space over and over, without a line end. */
export const endless = (status: number, contentType: string, head: string, key: string): UpstreamReply => ({
  kind: 'endless',
  status,
  contentType,
  head,
  repeat: `${key} `,
})

/** An upstream error message quoting `key` in every form at once. */
export function echoOf(key: string): string {
  const forms = [key, `Bearer ${key}`, `token_${key}`, `{"api_key":"${key}"}`, `key=${key}&retry=1`]
  return `Incorrect API key provided: ${forms.join(' | ')}.`
}
