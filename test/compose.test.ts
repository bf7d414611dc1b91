import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseConfig } from '../src/config.js'

/**
 * docker-compose.yml, checked without Docker (none runs here): its services, health checks, start
 * order and the environment each API instance gets, parsed by the server's own configuration schema.
 */
const ROOT = join(import.meta.dirname, '..')
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

interface Service {
  image?: string
  build?: string
  deploy?: { replicas?: number }
  ports?: string[]
  volumes?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
}

/** `${NAME:-default}` and `${NAME}` as compose substitutes them from `environment`. */
function interpolate(text: string, environment: Record<string, string> = {}): string {
  return text.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_match, name: string, fallback?: string) =>
    environment[name] ? (environment[name] as string) : (fallback ?? ''),
  )
}

const service = (name: string): Service => {
  const found = compose.services[name]
  if (!found) throw new Error(`no service ${name}`)
  return found
}

/** What one API instance's process.env would be (the image's ENV, then the service's). */
function apiEnvironment(environment: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service('api').environment ?? {}).map(([name, value]) => [
      name,
      interpolate(String(value), environment),
    ]),
  )
}

describe('docker-compose.yml', () => {
  it('has the proxy, the API, PostgreSQL with pgvector, Redis and Ollama, each with a health check', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'ollama', 'postgres', 'proxy', 'redis'])
    expect(service('postgres').image).toBe('pgvector/pgvector:pg16')
    for (const [name, { healthcheck }] of Object.entries(compose.services)) {
      expect(healthcheck?.test[0], name).toBe('CMD')
      expect(healthcheck?.test.length, name).toBeGreaterThan(1)
    }
  })

  it('runs two API instances built from the Dockerfile, started once what they use is healthy', () => {
    const api = service('api')
    expect(api.build).toBe('.')
    expect(api.deploy?.replicas).toBe(2)
    expect(api.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      ollama: { condition: 'service_healthy' },
    })
    expect(api.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8000/ready')
    expect(service('proxy').depends_on).toEqual({ api: { condition: 'service_healthy' } })
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain('COPY --chown=node:node public ./public')
  })

  it('gives every instance a configuration the server accepts, pointing at the other services', () => {
    const config = parseConfig(apiEnvironment())
    expect(config.HOST).toBe('0.0.0.0')
    expect(config.TRUST_PROXY).toBe(1)
    expect(config.OLLAMA_HOST).toBe('http://ollama:11434')
    expect(config.REDIS_URL).toBe('redis://redis:6379')
    const database = new URL(config.DATABASE_URL ?? '')
    const postgres = service('postgres').environment ?? {}
    expect(database.hostname).toBe('postgres')
    expect(database.username).toBe(postgres.POSTGRES_USER)
    expect(database.password).toBe(interpolate(postgres.POSTGRES_PASSWORD ?? ''))
    expect(database.pathname).toBe(`/${postgres.POSTGRES_DB}`)
    // A password set for PostgreSQL reaches the URL the instances use.
    expect(
      new URL(parseConfig(apiEnvironment({ POSTGRES_PASSWORD: 's3cret' })).DATABASE_URL ?? '').password,
    ).toBe('s3cret')
  })

  it('passes keys and the shared stream-token secret through from the environment, none written in it', () => {
    const secret = 'x'.repeat(40)
    const config = parseConfig(apiEnvironment({ STREAM_TOKEN_SECRET: secret, OPENAI_API_KEY: 'sk-abc' }))
    expect(config.STREAM_TOKEN_SECRET).toBe(secret)
    expect(config.OPENAI_API_KEY).toBe('sk-abc')
    expect(parseConfig(apiEnvironment()).OPENAI_API_KEY).toBeUndefined()
  })

  it('keeps its data in named volumes, and mounts an nginx configuration that balances and streams', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['ollama-models', 'postgres-data', 'redis-data'])
    for (const name of ['postgres', 'redis', 'ollama']) {
      const [volume] = service(name).volumes?.[0]?.split(':') ?? []
      expect(Object.keys(compose.volumes), name).toContain(volume)
    }
    const [file] = service('proxy').volumes?.[0]?.split(':') ?? []
    expect(existsSync(join(ROOT, file ?? ''))).toBe(true)
    const nginx = readFileSync(join(ROOT, file ?? ''), 'utf8')
    expect(nginx).toContain('server api:8000;')
    expect(nginx).toContain('proxy_buffering off;')
    expect(nginx).toContain('proxy_set_header Host $http_host;')
    expect(service('proxy').ports).toEqual([`\${PORT:-8000}:80`])
  })
})
