import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { registerSecrets } from '../redaction.js'

/**
 * The configured secrets are masked in every upstream text the app shows or logs (redactSecrets), for
 * as long as the app is open.
 */
export function registerConfiguredSecrets(app: FastifyInstance, config: Config) {
  const withdraw = registerSecrets(secretsOf(config))
  app.addHook('onClose', async () => withdraw())
}

/**
 * The configured values that must never be shown or logged, whatever their shape: the API key, the
 * metrics token, and the credentials in any configured URL (a database or Redis password; a gateway's or
 * Ollama proxy's token, which sits in the user name when the URL has no password: `https://<token>@host`).
 */
export function secretsOf(config: Config): string[] {
  const secrets = [config.OPENAI_API_KEY, config.METRICS_TOKEN, config.STREAM_TOKEN_SECRET]
  const urls = [config.OPENAI_BASE_URL, config.OLLAMA_HOST, config.DATABASE_URL, config.REDIS_URL]
  for (const url of urls) {
    if (url === undefined) continue
    const { username, password } = new URL(url)
    const credential = password || username
    // As written in the URL, and as the client library sends it (percent-decoded).
    secrets.push(credential, safelyDecoded(credential))
  }
  return [...new Set(secrets.filter((secret): secret is string => Boolean(secret)))]
}

function safelyDecoded(component: string): string {
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}
