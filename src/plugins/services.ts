import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { ProviderNotConfiguredError } from '../errors.js'
import { createConnectionPool } from '../providers/connection-pool.js'
import { OllamaProvider } from '../providers/ollama.js'
import { OpenAIProvider } from '../providers/openai.js'
import { OpenAIModeration } from '../providers/openai-moderation.js'
import type { ChatProvider } from '../providers/provider.js'
import { createRetryPolicy, type RetryPolicy } from '../providers/retry.js'
import { createDocuments } from '../rag/create-documents.js'
import type { Documents } from '../rag/documents.js'
import type { Chunker } from '../rag/ingest.js'
import type { DocumentStore } from '../rag/types.js'
import { ChatService, type ModelHost } from '../services/chat-service.js'
import { InputModeration } from '../services/input-moderation.js'
import { RagService } from '../services/rag-service.js'
import type { SharedAnswers } from '../services/shared-answers.js'
import { Resumption, type ResumptionOptions } from '../streaming/resumption.js'
import type { StreamSlots } from '../streaming/stream-slots.js'
import { Streams } from '../streaming/streams.js'
import type { ServiceMeters } from './metrics/index.js'
import { loadModerationPolicy } from './moderation/policy-file.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The configuration the app was built with. */
    config: Config
    /** Whole and streamed answers from OpenAI or Ollama. */
    chat: ChatService
    /** The document library: ingestion, listing, retrieval. */
    documents: Documents
    /** Answers grounded in the documents. */
    rag: RagService
    /** Streams in flight: shutdown ends them (plugins/graceful-shutdown.ts), tests count them. */
    streams: Streams
    /** The input policy routes declare `moderatedInput` for; undefined when there is none (no hook). */
    inputModeration: InputModeration | undefined
  }
}

/** Replacements for tests; anything not given is built from the config. */
export interface ServiceOverrides {
  /** Replaces the OpenAI provider. */
  openai?: ChatProvider
  /** Replaces the Ollama provider. */
  ollama?: ChatProvider
  /** Replaces the retry policy. */
  retry?: RetryPolicy
  /** Replaces the document store chosen from the config. */
  store?: DocumentStore
  /** Where bulk ingestion chunks ahead (the CLI's ChunkPool, started before the app); else the Ingestor's own. */
  chunker?: Chunker
}

export interface ServiceOptions extends ServiceOverrides {
  /** Counts the streams each client holds open (plugins/limits); undefined: not limited. */
  streamSlots?: StreamSlots
  /** The response cache and coalescing (plugins/cache); undefined: both off. */
  shared?: SharedAnswers
  /** The replay log of resumable streams (plugins/resume); undefined: streams are not resumable. */
  replayLog?: Omit<ResumptionOptions, 'graceMs'>
}

/** Stands in for a provider whose credentials are missing, so the rest of the server still starts. */
class UnconfiguredProvider implements ChatProvider {
  constructor(
    private readonly provider: string,
    private readonly variable: string,
  ) {}

  async generate(): Promise<never> {
    throw new ProviderNotConfiguredError(this.provider, this.variable)
  }

  // biome-ignore lint/correctness/useYield: fails before producing anything, like an upstream refusing
  async *stream(): AsyncGenerator<never> {
    throw new ProviderNotConfiguredError(this.provider, this.variable)
  }
}

/**
 * Builds the services from the config (providers on one connection pool) and decorates the app with them;
 * with `meters`, the providers, streams and document library report to the metrics.
 */
export async function registerServices(
  app: FastifyInstance,
  config: Config,
  overrides: ServiceOptions = {},
  meters?: ServiceMeters,
) {
  const dispatcher = createConnectionPool(config.UPSTREAM_MAX_CONNECTIONS)
  app.addHook('onClose', async () => dispatcher.close())
  const upstream = {
    dispatcher,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    maxAnswerBytes: config.UPSTREAM_MAX_ANSWER_BYTES,
    maxEventBytes: config.UPSTREAM_MAX_EVENT_BYTES,
  }

  const openai = config.OPENAI_API_KEY
    ? {
        apiKey: config.OPENAI_API_KEY,
        baseURL: config.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
        organization: config.OPENAI_ORG_ID,
        project: config.OPENAI_PROJECT_ID,
        ...upstream,
      }
    : undefined
  const ollama = { host: config.OLLAMA_HOST, ...upstream }
  const documents = await createDocuments(config, {
    openai,
    ollama,
    store: overrides.store,
    meter: meters?.documents,
    chunker: overrides.chunker,
  })
  app.addHook('onClose', async () => documents.close())

  const retry =
    overrides.retry ??
    createRetryPolicy({
      attempts: config.RETRY_ATTEMPTS,
      minDelayMs: config.RETRY_MIN_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
    })
  // Loaded first: a policy file that cannot be used stops the boot before anything else is built.
  const moderation = loadModerationPolicy(config)
  const outputPolicy = moderation?.output && { policy: moderation.output, meter: meters?.moderation }
  const classifier = config.MODERATION_OPENAI && openai ? new OpenAIModeration(openai) : undefined
  const inputModeration =
    moderation?.input || moderation?.maxInputChars !== undefined || classifier
      ? new InputModeration({
          policy: moderation?.input,
          maxInputChars: moderation?.maxInputChars,
          classifier,
          meter: meters?.moderation,
        })
      : undefined
  const streams = new Streams({
    outputPolicy,
    retry,
    slots: overrides.streamSlots,
    limits: {
      firstEventMs: config.STREAM_FIRST_EVENT_TIMEOUT_MS,
      idleMs: config.STREAM_IDLE_TIMEOUT_MS,
      totalMs: config.STREAM_TOTAL_TIMEOUT_MS,
    },
    meter: meters?.streams,
    resumption: overrides.replayLog
      ? new Resumption({ ...overrides.replayLog, graceMs: config.STREAM_RESUME_GRACE_MS })
      : undefined,
  })
  const metered = (provider: ChatProvider, name: ModelHost) => meters?.provider(provider, name) ?? provider
  const providers = {
    openai: metered(
      overrides.openai ??
        (openai ? new OpenAIProvider(openai) : new UnconfiguredProvider('OpenAI', 'OPENAI_API_KEY')),
      'openai',
    ),
    ollama: metered(overrides.ollama ?? new OllamaProvider(ollama), 'ollama'),
  }

  app.decorate('config', config)
  const chat = new ChatService({ providers, retry, streams, shared: overrides.shared, outputPolicy })
  app.decorate('chat', chat)
  app.decorate('documents', documents)
  app.decorate('rag', new RagService(documents, chat))
  app.decorate('streams', streams)
  app.decorate('inputModeration', inputModeration)
}
