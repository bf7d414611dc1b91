import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { registerApiKeys } from './api-keys.js'
import { registerCrossSiteGuard } from './cross-site.js'
import { loadKeyRing } from './key-ring.js'
import { StreamTokens } from './stream-tokens.js'

/**
 * Who may call the API. With API keys configured, every route but the open ones needs one (and GET
 * /stream also takes a stream token); without, anyone who can reach the server may, but a browser may
 * not be made to by another site's page. A keys file that cannot be used throws a ConfigError.
 */
export function registerAccessControl(app: FastifyInstance, config: Config, now?: () => number) {
  const keys = loadKeyRing(config)
  const streamTokens =
    keys &&
    new StreamTokens({ secret: config.STREAM_TOKEN_SECRET, ttlSeconds: config.STREAM_TOKEN_TTL_S, now })
  app.decorate('streamTokens', streamTokens)
  registerApiKeys(
    app,
    keys &&
      streamTokens && {
        keys,
        streamTokenName: (token) => streamTokens.nameIn(token),
        openDocs: config.AUTH_OPEN_DOCS,
      },
  )
  if (keys === undefined) registerCrossSiteGuard(app, config.CORS_ORIGINS)
  return { keyCount: keys?.size ?? 0 }
}
