import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseConfig } from '../src/config.js'
import { secretsOf } from '../src/plugins/redaction.js'

describe('configuration', () => {
  it('has the chapter defaults', () => {
    const config = parseConfig({})
    expect(config.OPENAI_API_KEY).toBeUndefined()
    expect(config.OPENAI_BASE_URL).toBeUndefined()
    expect(config).toMatchObject({
      PORT: 8000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DEFAULT_MODEL: 'gpt-5',
      OLLAMA_HOST: 'http://127.0.0.1:11434',
      RETRY_ATTEMPTS: 3,
      RETRY_MIN_DELAY_MS: 2000,
      RETRY_MAX_DELAY_MS: 8000,
      UPSTREAM_MAX_ANSWER_BYTES: 16_777_216,
      UPSTREAM_MAX_EVENT_BYTES: 8_388_608,
    })
  })

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ PORT: '', OPENAI_API_KEY: '' })).toMatchObject({
      PORT: 8000,
      OPENAI_API_KEY: undefined,
    })
  })

  it('fails fast with a message naming each bad variable', () => {
    const parse = () => parseConfig({ PORT: 'eighty', OPENAI_BASE_URL: 'not a url', RETRY_ATTEMPTS: '0' })
    expect(parse).toThrow(ConfigError)
    expect(parse).toThrow(/PORT: .*\n.*OPENAI_BASE_URL: must be an http\(s\) URL\n.*RETRY_ATTEMPTS/)
  })

  it('rejects a minimum retry delay above the maximum', () => {
    expect(() => parseConfig({ RETRY_MIN_DELAY_MS: '9000' })).toThrow(
      /RETRY_MAX_DELAY_MS: must be greater than/,
    )
  })

  it('bounds slow clients and shutdown by default', () => {
    expect(parseConfig({})).toMatchObject({
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      KEEP_ALIVE_TIMEOUT_MS: 72_000,
      MAX_CONNECTIONS: 8_192,
      SHUTDOWN_GRACE_MS: 5_000,
    })
  })

  it('rejects a headers timeout longer than the whole request timeout', () => {
    expect(() => parseConfig({ HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /HEADERS_TIMEOUT_MS: must be less than or equal to REQUEST_TIMEOUT_MS/,
    )
  })

  it('turns metrics on by default, off with METRICS_ENABLED=false or 0, and rejects anything else', () => {
    expect(parseConfig({})).toMatchObject({
      METRICS_ENABLED: true,
      METRICS_MODEL_LABELS: 100,
      READINESS_TIMEOUT_MS: 2000,
    })
    expect(parseConfig({ METRICS_ENABLED: 'false' }).METRICS_ENABLED).toBe(false)
    expect(parseConfig({ METRICS_ENABLED: '0' }).METRICS_ENABLED).toBe(false)
    expect(parseConfig({ METRICS_ENABLED: '1' }).METRICS_ENABLED).toBe(true)
    expect(() => parseConfig({ METRICS_ENABLED: 'no' })).toThrow('METRICS_ENABLED: must be true or false')
  })

  it('rejects an unknown log level', () => {
    expect(() => parseConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/)
  })

  it("gives LanceDB's native pool 4 CPU threads unless the environment names another number", () => {
    expect(parseConfig({}).LANCE_CPU_THREADS).toBe(4)
    expect(parseConfig({ LANCE_CPU_THREADS: '2' }).LANCE_CPU_THREADS).toBe(2)
  })

  it('drops passages under a relevance of 0.25 unless RAG_MIN_SCORE names another share', () => {
    expect(parseConfig({}).RAG_MIN_SCORE).toBe(0.25)
    expect(parseConfig({ RAG_MIN_SCORE: '0' }).RAG_MIN_SCORE).toBe(0)
    expect(() => parseConfig({ RAG_MIN_SCORE: '1.5' })).toThrow(/RAG_MIN_SCORE/)
    expect(() => parseConfig({ RAG_MIN_SCORE: 'high' })).toThrow(/RAG_MIN_SCORE/)
  })

  it("counts vector relevance from the model's unrelated cosine: known, the default, or EMBEDDING_UNRELATED_COSINE", () => {
    const cosine = (environment: Record<string, string>) =>
      parseConfig(environment).embedding?.unrelatedCosine
    expect(cosine({ EMBEDDING_PROVIDER: 'openai' })).toBe(0.2)
    expect(cosine({ EMBEDDING_PROVIDER: 'openai', EMBEDDING_MODEL: 'text-embedding-ada-002' })).toBe(0.75)
    expect(cosine({ EMBEDDING_PROVIDER: 'ollama' })).toBe(0.3)
    expect(cosine({ EMBEDDING_PROVIDER: 'ollama', EMBEDDING_UNRELATED_COSINE: '0.45' })).toBe(0.45)
    expect(() => parseConfig({ EMBEDDING_UNRELATED_COSINE: '1' })).toThrow(/EMBEDDING_UNRELATED_COSINE/)
  })

  it('rejects a LanceDB thread count that is not a positive whole number', () => {
    expect(() => parseConfig({ LANCE_CPU_THREADS: '0' })).toThrow(/LANCE_CPU_THREADS/)
    expect(() => parseConfig({ LANCE_CPU_THREADS: '1.5' })).toThrow(/LANCE_CPU_THREADS/)
  })

  it("bounds how late the embedded store sees another process's writes to 1 s unless told otherwise", () => {
    expect(parseConfig({}).RAG_READ_CONSISTENCY_MS).toBe(1_000)
    expect(parseConfig({ RAG_READ_CONSISTENCY_MS: '0' }).RAG_READ_CONSISTENCY_MS).toBe(0)
    expect(() => parseConfig({ RAG_READ_CONSISTENCY_MS: '-1' })).toThrow(/RAG_READ_CONSISTENCY_MS/)
  })

  it('lets the ingest CLI merge waiting batches into writes of up to 256 documents, and no fewer than one batch', () => {
    expect(parseConfig({}).RAG_INGEST_MERGE_DOCUMENTS).toBe(256)
    expect(parseConfig({ RAG_INGEST_MERGE_DOCUMENTS: '32' }).RAG_INGEST_MERGE_DOCUMENTS).toBe(32)
    expect(() => parseConfig({ RAG_INGEST_MERGE_DOCUMENTS: '31' })).toThrow(/RAG_INGEST_MERGE_DOCUMENTS/)
  })
})

describe('.env file', () => {
  const saved = { ...process.env }
  afterEach(() => {
    process.env = { ...saved }
  })

  it('is read when present, and variables already set win', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'genai-config-'))
    const envFile = join(directory, '.env')
    await writeFile(envFile, 'DEFAULT_MODEL=gpt-4.1-mini\nPORT=9001\n')
    process.env.PORT = '9002'
    delete process.env.DEFAULT_MODEL
    expect(loadConfig(envFile)).toMatchObject({ DEFAULT_MODEL: 'gpt-4.1-mini', PORT: 9002 })
  })

  it('is optional', () => {
    expect(() => loadConfig('/nonexistent/.env')).not.toThrow()
  })
})

describe('limits configuration', () => {
  it('has the documented defaults: limits on, in memory, failing open, any model', () => {
    const config = parseConfig({})
    expect(config).toMatchObject({
      RATE_LIMIT_MAX: 600,
      RATE_LIMIT_WINDOW_MS: 60_000,
      STREAMS_PER_CLIENT: 16,
      RATE_LIMIT_REDIS_FAILURE: 'open',
    })
    expect(config.REDIS_URL).toBeUndefined()
    expect(config.ALLOWED_MODELS).toBeUndefined()
  })

  it('reads ALLOWED_MODELS as a comma list, spaces and empty items ignored', () => {
    const config = parseConfig({ ALLOWED_MODELS: ' gpt-5, gpt-5-mini,,llama3.2 ', DEFAULT_MODEL: 'gpt-5' })
    expect(config.ALLOWED_MODELS).toEqual(['gpt-5', 'gpt-5-mini', 'llama3.2'])
    expect(parseConfig({ ALLOWED_MODELS: ' , ' }).ALLOWED_MODELS).toBeUndefined()
  })

  it('refuses an ALLOWED_MODELS without the default models, naming them', () => {
    expect(() => parseConfig({ ALLOWED_MODELS: 'gpt-5-mini', OLLAMA_DEFAULT_MODEL: 'llama3.2' })).toThrow(
      'Invalid configuration:\n' +
        '  ALLOWED_MODELS: must include DEFAULT_MODEL (gpt-5), the model of requests that name none\n' +
        '  ALLOWED_MODELS: must include OLLAMA_DEFAULT_MODEL (llama3.2), the model of requests that name none',
    )
  })

  it('refuses a REDIS_URL that is not redis:// or rediss://, and an unknown failure policy', () => {
    expect(() => parseConfig({ REDIS_URL: 'http://cache:6379' })).toThrow(
      'REDIS_URL: must be a redis:// or rediss:// URL',
    )
    expect(() => parseConfig({ RATE_LIMIT_REDIS_FAILURE: 'maybe' })).toThrow('RATE_LIMIT_REDIS_FAILURE')
    expect(parseConfig({ REDIS_URL: 'rediss://cache:6380/2' }).REDIS_URL).toBe('rediss://cache:6380/2')
  })

  it('reads TRUST_PROXY as off, on, a hop count, or a list of addresses, CIDRs and ranges', () => {
    expect(parseConfig({}).TRUST_PROXY).toBe(false)
    expect(parseConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false)
    expect(parseConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true)
    expect(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2)
    expect(parseConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16 ,::1,loopback' }).TRUST_PROXY).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      '::1',
      'loopback',
    ])
    expect(() => parseConfig({ TRUST_PROXY: 'balancer.internal' })).toThrow(
      'balancer.internal is not an address, a CIDR or loopback/linklocal/uniquelocal',
    )
    expect(() => parseConfig({ TRUST_PROXY: '0' })).toThrow('TRUST_PROXY')
  })
})

describe('secretsOf', () => {
  it('names the API key and the password of every configured URL, as written and percent-decoded', () => {
    const config = parseConfig({
      OPENAI_API_KEY: 'azure-0123456789abcdef',
      OPENAI_BASE_URL: 'https://gateway:gw%2Fsecret@llm.example.com/v1',
      DATABASE_URL: 'postgres://app:db-password@db.example.com:5432/app',
    })
    expect(secretsOf(config)).toEqual(['azure-0123456789abcdef', 'gw%2Fsecret', 'gw/secret', 'db-password'])
  })

  it("names a URL's user name when it carries no password: a token, as proxies take them", () => {
    const config = parseConfig({ OLLAMA_HOST: 'https://ollama-proxy-token@ollama.example.com' })
    expect(secretsOf(config)).toEqual(['ollama-proxy-token'])
  })

  it("names the Redis URL's password", () => {
    const config = parseConfig({ REDIS_URL: 'redis://default:redis-password@cache:6379/0' })
    expect(secretsOf(config)).toEqual(['redis-password'])
  })

  it('names the metrics token', () => {
    expect(secretsOf(parseConfig({ METRICS_TOKEN: 'scrape-token-0123' }))).toContain('scrape-token-0123')
  })

  it('names nothing when nothing secret is configured', () => {
    expect(secretsOf(parseConfig({}))).toEqual([])
  })
})
