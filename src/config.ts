import { existsSync } from 'node:fs'
import { z } from 'zod'
import {
  boolean,
  emptyAsUndefined,
  integer,
  optionalList,
  optionalString,
  optionalUrl,
  originList,
  trustProxy,
  urlWithDefault,
} from './config-values.js'
import {
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_UNRELATED_COSINE,
  type EmbeddingSettings,
  KNOWN_DIMENSIONS,
  UNRELATED_COSINE,
} from './embedding-models.js'

/** The whole environment the server reads, parsed once at boot. */
export const configSchema = z
  .object({
    PORT: integer(8000, 0, 65535),
    HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
    LOG_LEVEL: z.preprocess(
      emptyAsUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalUrl(),
    OPENAI_ORG_ID: optionalString,
    OPENAI_PROJECT_ID: optionalString,
    DEFAULT_MODEL: z.preprocess(emptyAsUndefined, z.string().min(1).default('gpt-5')),
    OLLAMA_HOST: urlWithDefault('http://127.0.0.1:11434'),
    OLLAMA_DEFAULT_MODEL: z.preprocess(emptyAsUndefined, z.string().min(1).default('llama3.2')),
    UPSTREAM_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    UPSTREAM_MAX_CONNECTIONS: integer(0, 0, 1_000_000),
    // 16 MiB: twice the largest answer we ask for (128 embeddings of 3072 floats as JSON, ~8 MB; as base64,
    // 1.6 MB). 8 MiB per event: a stream's last event carries the whole answer again.
    UPSTREAM_MAX_ANSWER_BYTES: integer(16_777_216, 1024, 1_073_741_824),
    UPSTREAM_MAX_EVENT_BYTES: integer(8_388_608, 1024, 1_073_741_824),
    RETRY_ATTEMPTS: integer(3, 1, 10),
    RETRY_MIN_DELAY_MS: integer(2000, 0, 600_000),
    RETRY_MAX_DELAY_MS: integer(8000, 0, 600_000),
    STREAM_FIRST_EVENT_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    STREAM_IDLE_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    STREAM_TOTAL_TIMEOUT_MS: integer(600_000, 1, 86_400_000),
    SSE_HEARTBEAT_MS: integer(15_000, 1, 3_600_000),
    // --- Resumable streams (README "Resumable streams") ---
    // SSE streams (/stream, streaming /rag) carry ids, are kept in a replay log and outlive their client;
    // false: the behaviour before resumption (a client leaving aborts the upstream), with no cost at all.
    STREAM_RESUME: boolean(true),
    // How long a stream's frames stay in the log after it ended (a reconnect then gets the end, or 204).
    STREAM_RESUME_RETENTION_MS: integer(60_000, 1, 86_400_000),
    // How long generation goes on with no client attached before the upstream is aborted.
    STREAM_RESUME_GRACE_MS: integer(30_000, 0, 3_600_000),
    // The log's bounds, per stream and in all (memory, or Redis with REDIS_URL); the oldest go first.
    STREAM_RESUME_MAX_BYTES_PER_STREAM: integer(1_048_576, 1_024, 1_073_741_824),
    STREAM_RESUME_MAX_BYTES: integer(67_108_864, 1_024, 17_179_869_184),
    // --- end of resumable streams ---
    BODY_LIMIT_BYTES: integer(1_048_576, 1024, 104_857_600),
    DATABASE_URL: z.preprocess(
      emptyAsUndefined,
      z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    ),
    RAG_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data')),
    // LanceDB's full-text index build hung on a 2-core machine with fewer threads. Lance reads it once per
    // process, so it is set before LanceDB loads (src/rag/stores/lancedb/load.ts); a value that is not a
    // whole number would make Lance panic.
    LANCE_CPU_THREADS: integer(4, 1, 1024),
    // How late the server may see what another process (the ingest CLI) wrote to RAG_DATA_DIR; 0: every read checks.
    RAG_READ_CONSISTENCY_MS: integer(1_000, 0, 3_600_000),
    // The most documents one store write of `npm run ingest` takes when the store falls behind and read
    // batches of 32 wait: they are written together, in fewer commits (ingestFiles' mergeUpTo).
    RAG_INGEST_MERGE_DOCUMENTS: integer(256, 32, 100_000),
    EMBEDDING_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['none', 'openai', 'ollama']).default('none')),
    EMBEDDING_MODEL: optionalString,
    EMBEDDING_DIMENSIONS: z.preprocess(
      emptyAsUndefined,
      z.coerce.number().int().min(1).max(16_000).optional(),
    ),
    EMBEDDING_CACHE_ENTRIES: integer(5_000, 0, 1_000_000),
    // README "Scores": the cosine from which vector relevance counts (by model when unset).
    EMBEDDING_UNRELATED_COSINE: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).lt(1).optional()),
    CHUNK_TOKENS: integer(400, 32, 8_000),
    CHUNK_OVERLAP_TOKENS: integer(60, 0, 4_000),
    RAG_TOP_K: integer(5, 1, 50),
    // README "Scores": passages less relevant are not cited (none left: no model call); min_score overrides.
    RAG_MIN_SCORE: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(1).default(0.25)),
    INGEST_BODY_LIMIT_BYTES: integer(10_485_760, 1024, 1_073_741_824),

    // --- Server bounds: slow, idle or too many clients, and shutdown (README "Limits and timeouts") ---
    // A client gets this long to send its request headers, then the whole request (body included); neither
    // bounds the answer, which may wait on the upstream for much longer.
    HEADERS_TIMEOUT_MS: integer(10_000, 100, 3_600_000),
    REQUEST_TIMEOUT_MS: integer(30_000, 100, 3_600_000),
    // Longer than a typical load balancer's idle timeout (60 s), so it never reuses a connection we closed.
    KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 100, 3_600_000),
    // Each client connection may hold an upstream connection too: keep it under half of `ulimit -n`.
    MAX_CONNECTIONS: integer(8_192, 0, 1_000_000),
    // Behind a load balancer: whose X-Forwarded-For names the client (per-IP limits, logs). Off by default.
    TRUST_PROXY: trustProxy,
    // How long in-flight requests and streams get to finish on shutdown before they are answered 503.
    SHUTDOWN_GRACE_MS: integer(5_000, 0, 600_000),
    // --- end of server bounds ---

    // --- Rate limits, per API key (per client IP when keys are off) (README "Rate limits") ---
    // Counters in Redis when set, so every instance enforces one limit; in memory otherwise.
    REDIS_URL: z.preprocess(
      emptyAsUndefined,
      z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    ),
    // Requests per window per client; 0 turns the request rate limit off (no hook is installed).
    RATE_LIMIT_MAX: integer(600, 0, 1_000_000_000),
    RATE_LIMIT_WINDOW_MS: integer(60_000, 1_000, 86_400_000),
    // Streams open at once per client; 0 turns the stream limit off.
    STREAMS_PER_CLIENT: integer(16, 0, 1_000_000),
    // Models a request may name (empty: any); an API key's own list replaces it for that key.
    ALLOWED_MODELS: optionalList,
    // Redis unreachable: `open` serves (warning and counting), `closed` answers 503.
    RATE_LIMIT_REDIS_FAILURE: z.preprocess(emptyAsUndefined, z.enum(['open', 'closed']).default('open')),
    // --- end of rate limits ---

    // --- Response cache and coalescing (README "Response cache and coalescing") ---
    // Off by default: an answer sampled with a temperature is one of many, and a cache makes it the only one.
    RESPONSE_CACHE: boolean(false),
    // How long a cached answer is served; 0 turns the cache off as RESPONSE_CACHE=false does.
    CACHE_TTL_MS: integer(300_000, 0, 2_592_000_000),
    // Bounds of the in-memory cache (least recently used answers go first); Redis is bounded by its maxmemory.
    CACHE_MAX_ENTRIES: integer(1_000, 1, 10_000_000),
    CACHE_MAX_BYTES: integer(67_108_864, 1_024, 17_179_869_184),
    // Identical requests in flight share one upstream call; always on while the cache is.
    COALESCE: boolean(false),
    // --- end of response cache ---

    // --- Token budgets per API key (README "Usage and budgets") ---
    // Tokens (input + output) each key may use per period; 0: no budget (no hook is installed). Needs API keys.
    TOKEN_BUDGET_PER_KEY: integer(0, 0, 1_000_000_000_000),
    // Periods are aligned on the Unix epoch (a day ends at 00:00 UTC), so every instance agrees when one resets.
    TOKEN_BUDGET_PERIOD_MS: integer(86_400_000, 1_000, 31_622_400_000),
    // --- end of token budgets ---

    // --- Metrics and readiness (README "Metrics and readiness") ---
    // Off: no /metrics route, and no hook or stream stage is installed at all.
    METRICS_ENABLED: boolean(true),
    // When set, /metrics asks for `Authorization: Bearer <token>`; masked like the API key.
    METRICS_TOKEN: optionalString,
    // `model` comes from the client: the first N distinct names get their own series, later ones "other".
    METRICS_MODEL_LABELS: integer(100, 1, 10_000),
    // Each /ready check (the document store answering, later Redis) gets this long before it counts as failed.
    READINESS_TIMEOUT_MS: integer(2_000, 1, 60_000),

    // --- Access: API keys, stream tokens, CORS (README "API keys and scopes", "CORS and cross-site") ---
    // Keys are read at boot by plugins/key-ring.ts: a JSON keys file and/or `name:scope:sha256` entries.
    API_KEYS_FILE: optionalString,
    API_KEY_HASHES: optionalString,
    // Signs the short-lived EventSource tokens; several instances behind one balancer need the same one.
    STREAM_TOKEN_SECRET: z.preprocess(
      emptyAsUndefined,
      z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
    ),
    STREAM_TOKEN_TTL_S: integer(300, 10, 86_400),
    AUTH_OPEN_DOCS: boolean(true),
    CORS_ORIGINS: originList,
    // --- end of access ---

    // The chat page at / (public/, README "Front end"); false: no route for it at all.
    PAGE_ENABLED: boolean(true),
    // --- Moderation (README "Moderation"): off, at no cost, unless one of these is set ---
    // A JSON policy file: rules of terms or patterns, for inputs and/or answers, and maxInputChars.
    MODERATION_POLICY_FILE: optionalString,
    // Comma-separated phrases refused in inputs and answers alike (rule id `blocked-terms`).
    MODERATION_BLOCKED_TERMS: optionalList,
    // Also asks OpenAI's moderation endpoint (omni-moderation-latest) about every input; fails closed (503).
    MODERATION_OPENAI: boolean(false),
    // --- end of moderation ---
  })
  .refine((config) => config.HEADERS_TIMEOUT_MS <= config.REQUEST_TIMEOUT_MS, {
    path: ['HEADERS_TIMEOUT_MS'],
    message: 'must be less than or equal to REQUEST_TIMEOUT_MS (the headers are part of the request)',
  })
  .refine((config) => config.RETRY_MIN_DELAY_MS <= config.RETRY_MAX_DELAY_MS, {
    path: ['RETRY_MAX_DELAY_MS'],
    message: 'must be greater than or equal to RETRY_MIN_DELAY_MS',
  })
  .superRefine((config, context) => {
    // A request that names no model gets the default: a default outside the list would refuse them all.
    const allowed = config.ALLOWED_MODELS
    if (allowed === undefined) return
    for (const variable of ['DEFAULT_MODEL', 'OLLAMA_DEFAULT_MODEL'] as const) {
      if (allowed.includes(config[variable])) continue
      context.addIssue({
        code: 'custom',
        path: ['ALLOWED_MODELS'],
        message: `must include ${variable} (${config[variable]}), the model of requests that name none`,
      })
    }
  })
  .refine(
    (config) =>
      config.TOKEN_BUDGET_PER_KEY === 0 ||
      config.API_KEYS_FILE !== undefined ||
      config.API_KEY_HASHES !== undefined,
    {
      path: ['TOKEN_BUDGET_PER_KEY'],
      message: 'needs API keys (API_KEYS_FILE or API_KEY_HASHES): a budget is counted per key',
    },
  )
  .refine((config) => !config.MODERATION_OPENAI || config.OPENAI_API_KEY !== undefined, {
    path: ['MODERATION_OPENAI'],
    message: "needs OPENAI_API_KEY: OpenAI's moderation endpoint is called with it",
  })
  .refine((config) => config.STREAM_RESUME_MAX_BYTES_PER_STREAM <= config.STREAM_RESUME_MAX_BYTES, {
    path: ['STREAM_RESUME_MAX_BYTES_PER_STREAM'],
    message: 'must be less than or equal to STREAM_RESUME_MAX_BYTES',
  })
  .refine((config) => config.CHUNK_OVERLAP_TOKENS < config.CHUNK_TOKENS, {
    path: ['CHUNK_OVERLAP_TOKENS'],
    message: 'must be smaller than CHUNK_TOKENS',
  })
  .transform((config, context) => {
    let embedding: EmbeddingSettings | undefined
    if (config.EMBEDDING_PROVIDER === 'none') return { ...config, embedding }
    const model = config.EMBEDDING_MODEL ?? DEFAULT_EMBEDDING_MODEL[config.EMBEDDING_PROVIDER]
    const dimensions = config.EMBEDDING_DIMENSIONS ?? KNOWN_DIMENSIONS[model]
    if (dimensions === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['EMBEDDING_DIMENSIONS'],
        message: `required: the width of ${model}'s vectors is not known to the server`,
      })
      return z.NEVER
    }
    const unrelatedCosine =
      config.EMBEDDING_UNRELATED_COSINE ?? UNRELATED_COSINE[model] ?? DEFAULT_UNRELATED_COSINE
    embedding = { provider: config.EMBEDDING_PROVIDER, model, dimensions, unrelatedCosine }
    return { ...config, embedding }
  })

export type Config = z.infer<typeof configSchema>

/** Whether the response cache is on: RESPONSE_CACHE=true with a TTL. */
export function responseCacheEnabled(config: Config): boolean {
  return config.RESPONSE_CACHE && config.CACHE_TTL_MS > 0
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Parses an environment into a Config, throwing one message that names every bad variable. */
export function parseConfig(environment: Record<string, string | undefined>): Config {
  const result = configSchema.safeParse(environment)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
}

/** Reads `.env` when present (variables already set win), then parses process.env. */
export function loadConfig(envFile = '.env'): Config {
  if (existsSync(envFile)) process.loadEnvFile(envFile)
  return parseConfig(process.env)
}

/** loadConfig for entry points: a bad configuration prints what is wrong and exits 1. */
export function loadConfigOrExit(envFile?: string): Config {
  try {
    return loadConfig(envFile)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
}
