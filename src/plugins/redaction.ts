import type { FastifyInstance } from 'fastify'
import { type Config, secretsOf } from '../config.js'
import { registerSecrets } from '../redaction.js'

/**
 * The configured secrets are masked in every upstream text the app shows or logs (redactSecrets), for
 * as long as the app is open.
 */
export function registerConfiguredSecrets(app: FastifyInstance, config: Config) {
  const withdraw = registerSecrets(secretsOf(config))
  app.addHook('onClose', async () => withdraw())
}
