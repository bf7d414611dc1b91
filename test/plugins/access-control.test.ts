import { describe, expect, it } from 'vitest'
import { accessWarnings } from '../../src/plugins/access-control.js'
import { testConfig } from '../helpers.js'

describe('accessWarnings', () => {
  it.each(['127.0.0.1', '127.0.0.2', 'localhost', '::1', '::ffff:127.0.0.1'])(
    'says nothing without keys on loopback (HOST=%s)',
    (host) => {
      expect(accessWarnings(testConfig({ HOST: host }), false)).toEqual([])
    },
  )

  it.each(['0.0.0.0', '::', '192.168.1.10', 'api.example.com'])(
    'warns clearly without keys when HOST=%s is not loopback',
    (host) => {
      const [warning, ...others] = accessWarnings(testConfig({ HOST: host }), false)
      expect(others).toEqual([])
      expect(warning).toMatch(
        new RegExp(`^no API keys are configured and HOST=${host} is not loopback: anyone`),
      )
      expect(warning).toContain('npm run keys -- create')
    },
  )

  it('says nothing about HOST with keys', () => {
    expect(
      accessWarnings(testConfig({ HOST: '0.0.0.0', STREAM_TOKEN_SECRET: 'x'.repeat(32) }), true),
    ).toEqual([])
  })

  it('warns that CORS_ORIGINS=* without keys lets any page call the server', () => {
    expect(accessWarnings(testConfig({ CORS_ORIGINS: '*' }), false)).toEqual([
      'CORS_ORIGINS=* without API keys: any web page a user opens can call this server',
    ])
  })

  it('warns that stream tokens need a shared STREAM_TOKEN_SECRET across instances', () => {
    expect(accessWarnings(testConfig(), true)).toEqual([
      expect.stringMatching(/^STREAM_TOKEN_SECRET is not set: /),
    ])
  })
})
