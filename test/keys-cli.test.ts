import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { bearer } from './access-keys.js'
import { openTestApp, testConfig, useFakeOpenAI } from './helpers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

/** Runs `npm run keys -- ...` as a user would; never rejects. */
async function keys(...args: string[]) {
  try {
    const { stdout, stderr } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'scripts/keys.ts'), ...args],
      {
        cwd: ROOT,
      },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

const fake = useFakeOpenAI()
const chat = {
  method: 'POST' as const,
  url: '/chat',
  payload: { messages: [{ role: 'user', content: 'hi' }] },
}

describe('npm run keys -- create', () => {
  it('prints a new key once and an API_KEY_HASHES item with which the server accepts it', async () => {
    const result = await keys('create', '--name', 'web', '--scope', 'use')
    expect(result.code).toBe(0)
    const key = /^ {2}(gk_[A-Za-z0-9_-]{43})$/m.exec(result.stdout)?.[1] as string
    const item = /^ {2}(web:use:[0-9a-f]{64})$/m.exec(result.stdout)?.[1] as string
    expect(key).toBeDefined()
    expect(result.stdout.split(key)).toHaveLength(2)

    const { app } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: fake.upstream.url, API_KEY_HASHES: item }),
    )
    expect((await app.inject({ ...chat, headers: bearer(key) })).statusCode).toBe(200)
    expect((await app.inject(chat)).statusCode).toBe(401)
  })

  it('prints the keys-file entry with limits and models, and no API_KEY_HASHES form, which cannot hold them', async () => {
    const result = await keys(
      'create',
      '--name',
      'ops',
      '--scope',
      'admin',
      '--requests-per-window',
      '120',
      '--concurrent-streams',
      '4',
      '--models',
      'gpt-5-mini, gpt-5',
    )
    expect(result.code).toBe(0)
    const entry = JSON.parse(/^ {2}(\{.*\})$/m.exec(result.stdout)?.[1] as string)
    expect(entry).toEqual({
      name: 'ops',
      scope: 'admin',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      limits: { requestsPerWindow: 120, concurrentStreams: 4 },
      models: ['gpt-5-mini', 'gpt-5'],
    })
    expect(result.stdout).not.toContain('API_KEY_HASHES')
  })

  it.each([
    [['create', '--name', 'web'], /--scope: /],
    [['create', '--name', 'web site', '--scope', 'use'], /--name: must be 1-64 letters/],
    [['create', '--name', 'web', '--scope', 'use', '--concurrent-streams', 'x'], /--concurrent-streams: /],
    [['delete', '--name', 'web'], /the only command is create/],
    [['create', '--nme', 'web'], /Unknown option '--nme'/],
  ])('exits 2 with usage for %j', async (args, message) => {
    const result = await keys(...args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toContain('usage: npm run keys -- create')
    expect(result.stdout).not.toMatch(/gk_/)
  })
})
