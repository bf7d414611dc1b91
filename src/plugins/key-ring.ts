import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { type Config, ConfigError } from '../config.js'
import type { ApiKey, ApiKeyLookup } from './api-keys.js'

/**
 * The API keys the server accepts, loaded once at boot from API_KEYS_FILE and API_KEY_HASHES. Only the
 * SHA-256 of each key is stored: a key is 256 random bits, so no password KDF is needed to make its hash
 * unguessable (README "API keys and scopes").
 */

const KEY_PREFIX = 'gk_'

/** A new key: `gk_` and 32 random bytes as base64url (43 characters). */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
}

/** The SHA-256 of a key, as stored: 64 lowercase hex digits. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

const positive = z.number().int().min(1)

/** One entry of the keys file (and, without limits and models, of API_KEY_HASHES). */
export const keyEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9_.-]{1,64}$/,
      'must be 1-64 letters, digits, _ . or - (it is logged and a metrics label)',
    ),
  scope: z.enum(['use', 'admin']),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be the 64 hex digits of the key's SHA-256 (npm run keys -- create)")
    .transform((hex) => hex.toLowerCase()),
  limits: z
    .strictObject({
      requestsPerWindow: positive.optional(),
      concurrentStreams: positive.optional(),
      tokensPerPeriod: positive.optional(),
    })
    .optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
})

export type KeyEntry = z.infer<typeof keyEntrySchema>

const keysFileSchema = z.strictObject({ keys: z.array(keyEntrySchema) })

/** The configured keys, or undefined when none are (the server then needs no key at all). */
export function loadKeyRing(config: Config): KeyRing | undefined {
  const entries = [
    ...(config.API_KEYS_FILE ? readKeysFile(config.API_KEYS_FILE) : []),
    ...(config.API_KEY_HASHES ? parseKeyHashes(config.API_KEY_HASHES) : []),
  ]
  if (entries.length === 0) return undefined
  const names = new Set<string>()
  const hashes = new Set<string>()
  for (const entry of entries) {
    if (names.has(entry.name)) throw new ConfigError(`API keys: the name '${entry.name}' is used twice`)
    if (hashes.has(entry.sha256)) throw new ConfigError(`API keys: '${entry.name}' has another key's hash`)
    names.add(entry.name)
    hashes.add(entry.sha256)
  }
  return new KeyRing(entries)
}

function readKeysFile(path: string): KeyEntry[] {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`API_KEYS_FILE: cannot read ${path} as JSON: ${(error as Error).message}`)
  }
  const result = keysFileSchema.safeParse(json)
  if (!result.success) throw new ConfigError(issuesMessage(`API_KEYS_FILE (${path})`, result.error))
  return result.data.keys
}

/** `name:scope:sha256` entries, comma-separated. */
function parseKeyHashes(list: string): KeyEntry[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item, index) => {
      const [name, scope, sha256, ...rest] = item.split(':')
      const result = keyEntrySchema.safeParse({ name, scope, sha256 })
      if (rest.length > 0 || !result.success) {
        const why = result.success ? 'expected name:scope:sha256' : issuesMessage('', result.error).trim()
        throw new ConfigError(`API_KEY_HASHES: entry ${index + 1} (${name ?? ''}): ${why}`)
      }
      return result.data
    })
}

function issuesMessage(source: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
  return `${source}\n${lines.join('\n')}`
}

/** The keys, found by the SHA-256 of what a client presents, in constant time. */
export class KeyRing implements ApiKeyLookup {
  readonly #digests: Buffer[]
  readonly #keys: ApiKey[]
  readonly #byName: Map<string, ApiKey>

  constructor(entries: KeyEntry[]) {
    this.#digests = entries.map((entry) => Buffer.from(entry.sha256, 'hex'))
    this.#keys = entries.map(({ sha256: _hash, ...key }) => key)
    this.#byName = new Map(this.#keys.map((key) => [key.name, key]))
  }

  get size(): number {
    return this.#keys.length
  }

  find(presented: string): ApiKey | undefined {
    const digest = createHash('sha256').update(presented).digest()
    let found: ApiKey | undefined
    // Every digest is compared, equal length, no early exit: the time says nothing about which matched.
    for (let index = 0; index < this.#digests.length; index++) {
      if (timingSafeEqual(digest, this.#digests[index] as Buffer)) found = this.#keys[index]
    }
    return found
  }

  byName(name: string): ApiKey | undefined {
    return this.#byName.get(name)
  }
}
