import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Config } from '../../config.js'
import type { CacheOutcome, ChatProvider } from '../../providers/provider.js'
import type { DocumentsMeter } from '../../rag/documents.js'
import type { ModerationMeter } from '../../streaming/content-policy.js'
import type { StreamMeter } from '../../streaming/stream-metrics.js'
import { defineMetrics } from './definitions.js'
import { registerHttpMetrics } from './http-metrics.js'
import { MeteredProvider } from './metered-provider.js'
import { documentsMeter, moderationMeter, streamMeter } from './meters.js'

/** What the rest of the app (and issue 11's rate limiter) sees of the metrics. */
export interface Metrics {
  /** Whether metrics are collected (METRICS_ENABLED). */
  enabled: boolean
  /** The Content-Type of `exposition()`'s text. */
  contentType: string
  /** Every metric in the Prometheus text exposition format. */
  exposition(): Promise<string>
  /**
   * Counts one request this server refused with 429 under its own rate limits. Issue 11 calls it from
   * @fastify/rate-limit's `onExceeded`; upstream 429s relayed to the client are not counted here.
   */
  countRateLimitRejection(): void
  /** Counts a request the response cache served (`hit`), missed, or was told to bypass. */
  countCacheOutcome(outcome: CacheOutcome): void
  /** Counts a request refused because its API key used its token budget. */
  countTokenBudgetRejection(): void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The metrics behind /metrics; when METRICS_ENABLED is false, a stand-in that counts nothing. */
    metrics: Metrics
  }
}

/** How the services are metered (plugins/services.ts wires them in); undefined when metrics are off. */
export interface ServiceMeters {
  /** Wraps a provider in one that measures its calls. */
  provider(inner: ChatProvider, name: string): ChatProvider
  /** Receives each stream's life. */
  streams: StreamMeter
  /** Receives each document operation. */
  documents: DocumentsMeter
  /** Counts the content policy's refusals. */
  moderation: ModerationMeter
  /** Counts events the replay log of resumable streams evicted. */
  replayEvictions: (events: number) => void
}

const DISABLED: Metrics = {
  enabled: false,
  contentType: 'text/plain',
  exposition: async () => '',
  countRateLimitRejection() {},
  countCacheOutcome() {},
  countTokenBudgetRejection() {},
}

/**
 * Process metrics (CPU, memory, event loop, GC) describe the process, not an app: collected once, on their
 * own registry, so tests that build many apps do not add a GC observer each.
 */
let processRegistry: Registry | undefined

/**
 * Sets up the metrics the config asks for: with METRICS_ENABLED false, nothing is installed (no hook, no
 * stream stage, no wrapper) and `app.metrics` counts nothing.
 */
export function registerMetrics(app: FastifyInstance, config: Config): ServiceMeters | undefined {
  if (!config.METRICS_ENABLED) {
    app.decorate('metrics', DISABLED)
    return undefined
  }
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  const registry = new Registry()
  const metrics = defineMetrics(registry)
  metrics.rateLimitRejections.inc(0)
  metrics.tokenBudgetRejections.inc(0)
  // Three outcomes: each child made once.
  const cacheOutcomes = {
    hit: metrics.cacheRequests.labels('hit'),
    miss: metrics.cacheRequests.labels('miss'),
    bypass: metrics.cacheRequests.labels('bypass'),
  }
  metrics.replayEvictions.inc(0)
  registerHttpMetrics(app, metrics)
  const both = [processRegistry, registry]
  app.decorate('metrics', {
    enabled: true,
    contentType: registry.contentType,
    exposition: () => Registry.merge(both).metrics(),
    countRateLimitRejection: () => metrics.rateLimitRejections.inc(),
    countCacheOutcome: (outcome) => cacheOutcomes[outcome].inc(),
    countTokenBudgetRejection: () => metrics.tokenBudgetRejections.inc(),
  })
  return {
    provider: (inner, name) => new MeteredProvider(inner, name, metrics, config.METRICS_MODEL_LABELS),
    streams: streamMeter(metrics),
    documents: documentsMeter(metrics),
    moderation: moderationMeter(metrics),
    replayEvictions: (events) => metrics.replayEvictions.inc(events),
  }
}
