/** The provider seam: routes and services speak these types, never a vendor SDK's. */

import type { CancelSignal } from '../cancellation.js'

export type MessageRole = 'system' | 'developer' | 'user' | 'assistant'

export interface ChatMessage {
  /** Who speaks. */
  role: MessageRole
  /** What they say. */
  content: string
}

export interface GenerateRequest {
  /** The conversation so far; the last message is usually the user's. */
  messages: ChatMessage[]
  /** The model to ask. */
  model: string
  /** Sampling temperature; sent upstream only when the caller set it. */
  temperature?: number
}

export interface GenerateResult {
  /** The answer text. */
  text: string
  /** The model that answered, as the upstream names it (often a dated snapshot). */
  model: string
  /** Tokens the upstream counted, when it said. */
  usage?: Usage
}

/** Where a request adds up the time it spent waiting on upstreams (for the Server-Timing header). */
export interface UpstreamTiming {
  /** Milliseconds spent in upstream calls so far. */
  upstreamMs: number
}

export interface CallOptions {
  /** Cancels the upstream call and any retry wait (the client went away, a deadline passed). */
  signal: CancelSignal
  /** Our request id, forwarded upstream so both logs can be joined. */
  requestId: string
  /** Receives the time spent upstream, when the caller measures it. */
  timing?: UpstreamTiming
  /** The request's ledger: the tokens its calls used and how the cache served it (undefined: not recorded). */
  ledger?: RequestLedger
  /** The request's `Cache-Control` header: what it allows the response cache to do (services/cache-policy.ts). */
  cacheControl?: string
  /**
   * Besides the request sent upstream, what the answer is made from and the cache key must name: the ids
   * of the passages /rag retrieved (their text is in the messages).
   */
  cacheScope?: readonly string[]
  /** Receives a stream's whole answer when it ends normally (the response cache stores it); undefined: none. */
  onAnswer?: (answer: StreamedAnswer) => void
  /** Which attempt under the retry policy this call is, from 1 (undefined: the first). */
  attempt?: number
  /** The name of the API key the request came with, for per-key token counts (undefined: anonymous). */
  apiKeyName?: string
  /** Who asks for a stream and how many they may hold open at once; undefined: not limited. */
  streamQuota?: StreamQuota
}

/** A client's share of the open streams (STREAMS_PER_CLIENT, or its API key's own limit). */
export interface StreamQuota {
  /** The client: its API key's name, or its IP when keys are off. */
  client: string
  /** The most streams it may hold open at once. */
  limit: number
}

/** Runs an upstream call, adding its duration to `options.timing`. */
export async function timed<T>(options: CallOptions, call: () => Promise<T>): Promise<T> {
  const started = performance.now()
  try {
    return await call()
  } finally {
    if (options.timing) options.timing.upstreamMs += performance.now() - started
  }
}

/** Why an answer ended: `stop` when complete, else the provider's reason (`max_output_tokens`, `length`, ...). */
export type FinishReason = 'stop' | (string & {})

export interface Usage {
  /** Tokens read. */
  inputTokens?: number
  /** Tokens written, reasoning included. */
  outputTokens?: number
  /** Of the tokens written, those spent reasoning (OpenAI's reasoning models; Ollama does not say). */
  reasoningTokens?: number
}

/** A streamed answer as it reached the client, whole. */
export interface StreamedAnswer {
  text: string
  /** The model that answered, when the stream said (OpenAI's start event; Ollama's lines do not). */
  model?: string
}

/** How the response cache served a request: from the cache, upstream, or upstream because it opted out. */
export type CacheOutcome = 'hit' | 'miss' | 'bypass'

/**
 * What a request's upstream calls came to, written by the services as they learn it and read when the
 * request ends: its access-log line, its token budget, its `x-cache` header. Created by the first call.
 */
export interface RequestLedger {
  /** Tokens the upstream reported, added up over the request's calls; undefined until one reported any. */
  usage?: Required<Usage>
  /** Set when the response cache is on and the route is one it serves. */
  cache?: CacheOutcome
}

/** Adds an upstream's reported usage to a ledger; a missing, negative or non-numeric count adds nothing. */
export function recordUsage(ledger: RequestLedger, usage: Usage): void {
  ledger.usage ??= { inputTokens: 0, outputTokens: 0, reasoningTokens: 0 }
  const total = ledger.usage
  total.inputTokens += tokens(usage.inputTokens)
  total.outputTokens += tokens(usage.outputTokens)
  total.reasoningTokens += tokens(usage.reasoningTokens)
}

/** A count an upstream reported, as a number that may be added: anything but a positive number is 0. */
export function tokens(count: number | undefined): number {
  return typeof count === 'number' && count > 0 && Number.isFinite(count) ? count : 0
}

/**
 * One piece of a streamed answer. Each part may carry `raw`, the upstream's own wire line, for relays
 * that pass the vendor format through unchanged (/local-stream).
 */
export type StreamPart =
  /** The upstream accepted the request and began answering. */
  | { type: 'start'; model: string; raw?: string }
  /** More answer text. */
  | { type: 'text-delta'; text: string; raw?: string }
  /** Any other upstream event: proof of life, no content. */
  | { type: 'progress'; raw?: string }
  /** The answer ended normally; nothing follows. */
  | { type: 'end'; finishReason: FinishReason; usage?: Usage; raw?: string }

export interface ChatProvider {
  /** Asks for one complete answer. Rejects with an AppError subclass. */
  generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult>
  /**
   * Streams an answer. Iteration throws an AppError subclass on any failure, before or after the
   * first part; it ends after an `end` part, and ends early (silently) when `options.signal` fires.
   */
  stream(request: GenerateRequest, options: CallOptions): AsyncIterable<StreamPart>
}
