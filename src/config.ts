import { existsSync } from 'node:fs'
import { z } from 'zod'

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value)

const optionalString = z.preprocess(emptyAsUndefined, z.string().optional())

const integer = (defaultValue: number, min: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(defaultValue))

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
const optionalUrl = () => z.preprocess(emptyAsUndefined, httpUrl().optional())
const urlWithDefault = (defaultValue: string) =>
  z.preprocess(emptyAsUndefined, httpUrl().default(defaultValue))

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
    DEFAULT_MODEL: z.preprocess(emptyAsUndefined, z.string().min(1).default('gpt-5')),
    OLLAMA_HOST: urlWithDefault('http://127.0.0.1:11434'),
    OLLAMA_DEFAULT_MODEL: z.preprocess(emptyAsUndefined, z.string().min(1).default('llama3.2')),
    UPSTREAM_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    RETRY_ATTEMPTS: integer(3, 1, 10),
    RETRY_MIN_DELAY_MS: integer(2000, 0, 600_000),
    RETRY_MAX_DELAY_MS: integer(8000, 0, 600_000),
    STREAM_FIRST_EVENT_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    STREAM_IDLE_TIMEOUT_MS: integer(60_000, 1, 3_600_000),
    STREAM_TOTAL_TIMEOUT_MS: integer(600_000, 1, 86_400_000),
    SSE_HEARTBEAT_MS: integer(15_000, 1, 3_600_000),
    BODY_LIMIT_BYTES: integer(1_048_576, 1024, 104_857_600),
  })
  .refine((config) => config.RETRY_MIN_DELAY_MS <= config.RETRY_MAX_DELAY_MS, {
    path: ['RETRY_MAX_DELAY_MS'],
    message: 'must be greater than or equal to RETRY_MIN_DELAY_MS',
  })

export type Config = z.infer<typeof configSchema>

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
