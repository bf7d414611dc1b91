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
}

// 127.0.0.0/8, ::1, and IPv4 loopback written as IPv6.
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3}|\[::1\])$/i

/** What an operator should hear at start about who can reach and spend the server (server.ts logs it). */
export function accessWarnings(config: Config, keysRequired: boolean): string[] {
  const warnings: string[] = []
  if (!keysRequired && !LOOPBACK.test(config.HOST)) {
    warnings.push(
      `no API keys are configured and HOST=${config.HOST} is not loopback: anyone who can reach this ` +
        'server can spend its AI provider keys and change its documents. Configure API_KEYS_FILE or ' +
        'API_KEY_HASHES (npm run keys -- create), or listen on 127.0.0.1',
    )
  }
  if (!keysRequired && config.CORS_ORIGINS.includes('*')) {
    warnings.push('CORS_ORIGINS=* without API keys: any web page a user opens can call this server')
  }
  if (keysRequired && config.STREAM_TOKEN_SECRET === undefined) {
    warnings.push(
      'STREAM_TOKEN_SECRET is not set: stream tokens are signed with a random secret of this process, so ' +
        'a token works only on the instance that issued it. Several instances need one shared secret',
    )
  }
  return warnings
}
