import { generateKey, hashKey } from '../src/plugins/key-ring.js'

/** A key of each scope, fresh per test process, and the API_KEY_HASHES that configures them. */
export const USE_KEY = generateKey()
export const ADMIN_KEY = generateKey()
export const KEYS_ENVIRONMENT = {
  API_KEY_HASHES: `web:use:${hashKey(USE_KEY)},ops:admin:${hashKey(ADMIN_KEY)}`,
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
