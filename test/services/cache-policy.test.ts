import { describe, expect, it } from 'vitest'
import { cachePolicy } from '../../src/services/cache-policy.js'

describe('cachePolicy', () => {
  it('reads and writes when the request says nothing', () => {
    expect(cachePolicy(undefined)).toEqual({ read: true, write: true })
  })

  it('no-cache: does not read, still writes', () => {
    expect(cachePolicy('no-cache')).toEqual({ read: false, write: true })
  })

  it('no-store: neither reads nor writes, among other directives and in any case', () => {
    expect(cachePolicy('max-age=60, No-Store')).toEqual({ read: false, write: false, maxAgeMs: 60_000 })
  })

  it('max-age=N accepts answers at most N seconds old; a malformed one is ignored', () => {
    expect(cachePolicy('max-age=30')).toEqual({ read: true, write: true, maxAgeMs: 30_000 })
    expect(cachePolicy('max-age=soon')).toEqual({ read: true, write: true })
  })
})
