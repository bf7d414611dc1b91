import { Gauge, type Registry } from 'prom-client'
import { PlainCounter, PlainHistogram } from './plain-metrics.js'

/** Seconds, from a fast local answer to a long generation (the default buckets stop at 10 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/**
 * Every metric the server exports (README "Metrics and readiness" describes each), on one registry.
 * Counters and histograms are plain-metrics.ts's (plain numbers, read at scrape time); the gauge is
 * prom-client's own.
 */
export function defineMetrics(registry: Registry) {
  const registers = [registry]
  return {
    httpRequests: new PlainCounter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template ("unmatched" when no route took it) and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers,
    }),
    httpDuration: new PlainHistogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its response finishing (a stream: its whole life)',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamDuration: new PlainHistogram({
      name: 'genai_upstream_request_duration_seconds',
      help: 'Upstream calls that answered: a whole answer until it was read, a stream until its first part',
      labelNames: ['provider', 'model', 'kind'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamErrors: new PlainCounter({
      name: 'genai_upstream_errors_total',
      help: 'Upstream calls that failed, by our error code (the client leaving or shutdown not counted)',
      labelNames: ['provider', 'model', 'code'] as const,
      registers,
    }),
    upstreamRetries: new PlainCounter({
      name: 'genai_upstream_retries_total',
      help: 'Upstream calls that were retries under the retry policy (attempts after the first)',
      labelNames: ['provider', 'model'] as const,
      registers,
    }),
    tokens: new PlainCounter({
      name: 'genai_tokens_total',
      help: 'Tokens the upstream reported using, by direction (input, output, reasoning: part of output) and API key name',
      labelNames: ['provider', 'model', 'key', 'direction'] as const,
      registers,
    }),
    streamsActive: new Gauge({
      name: 'genai_streams_active',
      help: 'Streams open now, from their first upstream attempt until their response closed',
      registers,
    }),
    streamFirstText: new PlainHistogram({
      name: 'genai_stream_first_token_seconds',
      help: 'Time from a stream opening to its first text, retries before it included',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    streamDuration: new PlainHistogram({
      name: 'genai_stream_duration_seconds',
      help: 'Life of a stream from its opening to its end, however it ended',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    streamsAborted: new PlainCounter({
      name: 'genai_streams_aborted_total',
      help: 'Streams ended because the client went away',
      registers,
    }),
    streamsFailed: new PlainCounter({
      name: 'genai_streams_failed_total',
      help: 'Streams ended by an error (before or after their first part), by our error code',
      labelNames: ['code'] as const,
      registers,
    }),
    replayEvictions: new PlainCounter({
      name: 'genai_stream_replay_evictions_total',
      help: 'Events of resumable streams dropped from the replay log before their retention was over (its bounds)',
      registers,
    }),
    rateLimitRejections: new PlainCounter({
      name: 'genai_rate_limit_rejections_total',
      help: 'Requests this server refused with 429 under its own rate limits (not upstream 429s)',
      registers,
    }),
    cacheRequests: new PlainCounter({
      name: 'genai_cache_requests_total',
      help: 'Requests the response cache looked at, by outcome: hit, miss, bypass (the request opted out)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    tokenBudgetRejections: new PlainCounter({
      name: 'genai_token_budget_rejections_total',
      help: 'Requests refused with 429 because their API key used its token budget for the period',
      registers,
    }),
    moderationBlocked: new PlainCounter({
      name: 'genai_moderation_blocked_total',
      help: 'Inputs refused and answers withheld by the content policy, by rule id and direction (input, output)',
      labelNames: ['rule', 'direction'] as const,
      registers,
    }),
    documentOperations: new PlainCounter({
      name: 'genai_document_operations_total',
      help: 'Document library operations, by operation and outcome (a document not found is ok)',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
    documentDuration: new PlainHistogram({
      name: 'genai_document_operation_duration_seconds',
      help: 'Duration of document library operations, embedding calls included',
      labelNames: ['operation', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  }
}

export type MetricSet = ReturnType<typeof defineMetrics>
