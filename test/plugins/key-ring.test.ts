import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.js'
import { generateKey, hashKey, loadKeyRing } from '../../src/plugins/key-ring.js'

let directory: string
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'key-ring-'))
})
afterAll(() => rm(directory, { recursive: true, force: true }))

const KEY = generateKey()
const OTHER = generateKey()

async function keysFile(content: unknown): Promise<string> {
  const path = join(directory, `keys-${Math.random().toString(36).slice(2)}.json`)
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

const ringFor = (environment: Record<string, string>) => loadKeyRing(parseConfig(environment))

/** The message loadKeyRing throws for `environment`. */
function failureOf(environment: Record<string, string>): string {
  try {
    ringFor(environment)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('generateKey and hashKey', () => {
  it('makes gk_ and 43 base64url characters (32 random bytes), different each time', () => {
    expect(KEY).toMatch(/^gk_[A-Za-z0-9_-]{43}$/)
    expect(KEY).not.toBe(OTHER)
  })

  it('hashes as SHA-256 hex', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

describe('loadKeyRing', () => {
  it('is undefined without keys: the server then needs none', () => {
    expect(ringFor({})).toBeUndefined()
  })

  it('reads the keys file, with limits and models, and finds each key by what a client presents', async () => {
    const file = await keysFile({
      keys: [
        {
          name: 'web',
          scope: 'use',
          sha256: hashKey(KEY).toUpperCase(),
          limits: { requestsPerWindow: 120, concurrentStreams: 4 },
          models: ['gpt-5-mini'],
        },
      ],
    })
    const ring = ringFor({ API_KEYS_FILE: file, API_KEY_HASHES: `ops:admin:${hashKey(OTHER)}` })
    expect(ring?.size).toBe(2)
    expect(ring?.find(KEY)).toEqual({
      name: 'web',
      scope: 'use',
      limits: { requestsPerWindow: 120, concurrentStreams: 4 },
      models: ['gpt-5-mini'],
    })
    expect(ring?.find(OTHER)).toEqual({ name: 'ops', scope: 'admin' })
    expect(ring?.find(`${KEY} `)).toBeUndefined()
    expect(ring?.find(hashKey(KEY))).toBeUndefined()
    expect(ring?.byName('ops')?.scope).toBe('admin')
    expect(ring?.byName('nobody')).toBeUndefined()
  })

  it.each([
    ['a file that is not JSON', '{"keys": [', /API_KEYS_FILE: cannot read .* as JSON/],
    [
      'a bad hash',
      { keys: [{ name: 'web', scope: 'use', sha256: 'abc' }] },
      /keys\.0\.sha256: must be the 64 hex/,
    ],
    ['an unknown scope', { keys: [{ name: 'web', scope: 'root', sha256: hashKey(KEY) }] }, /keys\.0\.scope/],
    [
      'an unknown field',
      { keys: [{ name: 'web', scope: 'use', sha256: hashKey(KEY), key: KEY }] },
      /keys\.0/,
    ],
    [
      'a zero limit',
      { keys: [{ name: 'web', scope: 'use', sha256: hashKey(KEY), limits: { requestsPerWindow: 0 } }] },
      /keys\.0\.limits\.requestsPerWindow/,
    ],
    ['no keys list', { web: hashKey(KEY) }, /keys: /],
  ])('refuses %s, naming the problem', async (_case, content, message) => {
    expect(failureOf({ API_KEYS_FILE: await keysFile(content) })).toMatch(message)
  })

  it('refuses a keys file that does not exist', () => {
    expect(failureOf({ API_KEYS_FILE: join(directory, 'missing.json') })).toMatch(
      /cannot read .*missing\.json/,
    )
  })

  it.each([
    ['a missing part', `web:${hashKey(KEY)}`, /entry 1 \(web\)/],
    ['an extra part', `web:use:${hashKey(KEY)}:x`, /entry 1 \(web\): expected name:scope:sha256/],
    ['a bad name', `web site:use:${hashKey(KEY)}`, /entry 1 .*letters, digits/],
    ['a bad second entry', `web:use:${hashKey(KEY)},ops:admin:zz`, /entry 2 \(ops\)/],
  ])('refuses API_KEY_HASHES with %s', (_case, list, message) => {
    expect(failureOf({ API_KEY_HASHES: list })).toMatch(message)
  })

  it('refuses a name used twice and a hash used twice', () => {
    expect(failureOf({ API_KEY_HASHES: `web:use:${hashKey(KEY)},web:admin:${hashKey(OTHER)}` })).toMatch(
      /the name 'web' is used twice/,
    )
    expect(failureOf({ API_KEY_HASHES: `web:use:${hashKey(KEY)},ops:admin:${hashKey(KEY)}` })).toMatch(
      /'ops' has another key's hash/,
    )
  })

  it('never puts a key in a message: the file holds hashes only, and an unknown field is named, not quoted', async () => {
    const message = failureOf({
      API_KEYS_FILE: await keysFile({
        keys: [{ name: 'web', scope: 'use', sha256: hashKey(KEY), key: KEY }],
      }),
    })
    expect(message).not.toContain(KEY)
  })
})
