import { afterEach, describe, expect, it } from 'vitest'
import { redactSecrets, registerSecrets, secretMask } from '../src/redaction.js'

const withdrawals: (() => void)[] = []
afterEach(() => {
  for (const withdraw of withdrawals.splice(0)) withdraw()
})

/** Registers `secrets` for one test. */
function register(...secrets: string[]) {
  const withdraw = registerSecrets(secrets)
  withdrawals.push(withdraw)
  return withdraw
}

const AZURE_KEY = '8f14e45fceea167a5a36dedd4bea2543'

describe('redactSecrets', () => {
  it.each([
    ['sk-live-abcdef123456', '[redacted]'],
    ['token_sk-live-abcdef123456', 'token_[redacted]'],
    ['key=sk-live-abcdef123456&x=1', 'key=[redacted]&x=1'],
    ['{"api_key":"sk-live-abcdef123456"}', '{"api_key":"[redacted]"}'],
    ['Authorization: Bearer abc.def-ghi', 'Authorization: [redacted]'],
  ])('masks an sk- key however it is quoted: %s', (text, redacted) => {
    expect(redactSecrets(text)).toBe(redacted)
  })

  it('leaves words that only end in sk, rk or pk before a hyphen alone', () => {
    const text = 'network-timeout on disk-usage-report in the task-runner'
    expect(redactSecrets(text)).toBe(text)
  })

  it('leaves a key of another shape alone until it is registered', () => {
    expect(redactSecrets(`key ${AZURE_KEY}`)).toBe(`key ${AZURE_KEY}`)
  })

  it.each([
    [`${AZURE_KEY}`, '[redacted]'],
    [`token_${AZURE_KEY}_end`, 'token_[redacted]_end'],
    [`x${AZURE_KEY}${AZURE_KEY}y`, 'x[redacted][redacted]y'],
    [`{"api_key":"${AZURE_KEY}"}`, '{"api_key":"[redacted]"}'],
    [`key=${AZURE_KEY}&retry=1`, 'key=[redacted]&retry=1'],
  ])('masks a registered key wherever it occurs, inside words too: %s', (text, redacted) => {
    register(AZURE_KEY)
    expect(redactSecrets(text)).toBe(redacted)
  })

  it('masks a registered secret as escaped in JSON and as percent-encoded', () => {
    register('pa"ss/word')
    expect(redactSecrets('{"password":"pa\\"ss/word"} url=pa%22ss%2Fword')).toBe(
      '{"password":"[redacted]"} url=[redacted]',
    )
  })

  it('masks the longer of two overlapping secrets whole', () => {
    register('abcd', 'abcdefgh-long-secret')
    expect(redactSecrets('abcdefgh-long-secret and abcd')).toBe('[redacted] and [redacted]')
  })

  it('stops masking a secret once every app that registered it withdrew it', () => {
    const first = register(AZURE_KEY)
    const second = register(AZURE_KEY)
    first()
    first()
    expect(redactSecrets(AZURE_KEY)).toBe('[redacted]')
    second()
    expect(redactSecrets(AZURE_KEY)).toBe(AZURE_KEY)
  })
})

describe('secretMask', () => {
  it('masks only the secrets it was given, with no pattern of its own', () => {
    const mask = secretMask([AZURE_KEY])
    expect(mask(`a ${AZURE_KEY} and sk-live-abcdef123456`)).toBe('a [redacted] and sk-live-abcdef123456')
  })

  it('leaves values shorter than four characters alone: they would mask ordinary words', () => {
    const mask = secretMask(['abc', ''])
    expect(mask('abc abcdef')).toBe('abc abcdef')
  })

  it('returns the same text when there is nothing to mask', () => {
    const text = 'nothing secret'
    expect(secretMask([])(text)).toBe(text)
    expect(secretMask([AZURE_KEY])(text)).toBe(text)
  })
})
