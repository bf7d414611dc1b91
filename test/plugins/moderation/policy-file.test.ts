import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../../src/config.js'
import { loadModerationPolicy } from '../../../src/plugins/moderation/policy-file.js'

let directory: string
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'policy-file-'))
})
afterEach(async () => {
  await rm(directory, { recursive: true, force: true })
})

/** The policy loaded from `content` written as MODERATION_POLICY_FILE, with `environment` besides. */
async function load(content: unknown, environment: Record<string, string> = {}) {
  const path = join(directory, 'policy.json')
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content))
  return loadModerationPolicy(parseConfig({ MODERATION_POLICY_FILE: path, ...environment }))
}

describe('loadModerationPolicy', () => {
  it('is undefined when neither a policy file nor blocked terms are configured (moderation off)', () => {
    expect(loadModerationPolicy(parseConfig({}))).toBeUndefined()
  })

  it('builds one policy per direction, each with the rules that apply to it', async () => {
    const policy = await load({
      rules: [
        { id: 'both', terms: ['alpha'] },
        { id: 'in', terms: ['beta'], appliesTo: ['input'] },
        { id: 'out', pattern: 'gamma[0-9]+', maxMatchChars: 12, appliesTo: ['output'] },
      ],
      maxInputChars: 100,
    })
    expect(policy?.maxInputChars).toBe(100)
    expect([
      policy?.input?.find('alpha'),
      policy?.input?.find('beta'),
      policy?.input?.find('gamma1'),
    ]).toEqual(['both', 'in', undefined])
    expect([
      policy?.output?.find('alpha'),
      policy?.output?.find('beta'),
      policy?.output?.find('gamma1'),
    ]).toEqual(['both', undefined, 'out'])
    expect(policy?.output?.maxMatchChars).toBe(12)
  })

  it('adds MODERATION_BLOCKED_TERMS as the rule blocked-terms, for both directions', () => {
    const policy = loadModerationPolicy(parseConfig({ MODERATION_BLOCKED_TERMS: 'alpha, beta gamma' }))
    expect(policy?.input?.find('x BETA GAMMA y')).toBe('blocked-terms')
    expect(policy?.output?.find('alpha')).toBe('blocked-terms')
  })

  it('gives a pattern rule 64 characters of longest match unless it says otherwise', async () => {
    const policy = await load({ rules: [{ id: 'p', pattern: 'a+b' }] })
    expect(policy?.output?.maxMatchChars).toBe(64)
  })

  it.each([
    ['a file that is not JSON', '{ rules: ', /MODERATION_POLICY_FILE: cannot read .* as JSON/],
    ['an unknown key', { rules: [], extra: true }, /Unrecognized key: "extra"/],
    [
      'a rule id unfit for a metrics label',
      { rules: [{ id: 'a b', terms: ['x'] }] },
      /rules\.0\.id: must be 1-64/,
    ],
    [
      'an invalid pattern',
      { rules: [{ id: 'p', pattern: '(' }] },
      /rules\.0\.pattern: not a valid regular expression/,
    ],
    ['a pattern that matches empty text', { rules: [{ id: 'p', pattern: 'a*' }] }, /matches empty text/],
    [
      'a pattern with upper-case letters',
      { rules: [{ id: 'p', pattern: '[A-Z]{3}' }] },
      /has upper-case letters/,
    ],
    ['a back-reference', { rules: [{ id: 'p', pattern: '(a)\\1' }] }, /back-references are not supported/],
    ['a rule with neither terms nor pattern', { rules: [{ id: 'p' }] }, /rules\.0/],
  ])('stops the boot with a message naming the problem: %s', async (_name, content, message) => {
    const loading = load(content)
    await expect(loading).rejects.toThrow(ConfigError)
    await expect(loading).rejects.toThrow(message)
  })

  it('accepts upper-case letters inside escapes and property names', async () => {
    const policy = await load({ rules: [{ id: 'p', pattern: '\\p{Lu}?\\D\\S\\W[0-9]{2}' }] })
    expect(policy?.input?.find('x-!12')).toBe('p')
  })

  it('refuses a rule id used twice, blocked-terms included', async () => {
    const content = { rules: [{ id: 'blocked-terms', terms: ['x'] }] }
    await expect(load(content, { MODERATION_BLOCKED_TERMS: 'y' })).rejects.toThrow(
      "Moderation: the rule id 'blocked-terms' is used twice",
    )
  })
})

describe('MODERATION_OPENAI', () => {
  it('needs OPENAI_API_KEY', () => {
    expect(() => parseConfig({ MODERATION_OPENAI: 'true' })).toThrow(
      /MODERATION_OPENAI: needs OPENAI_API_KEY/,
    )
  })
})
