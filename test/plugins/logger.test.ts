import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { loggerOptions } from '../../src/plugins/logger.js'

const KEY = '8f14e45fceea167a5a36dedd4bea2543'
const PASSWORD = 'db"pass/word'

/** A logger with the server's options for `environment`, and everything it wrote. */
function logger(environment: Record<string, string>) {
  let written = ''
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      written += chunk.toString('utf8')
      callback()
    },
  })
  return { log: pino(loggerOptions(parseConfig(environment)), sink), written: () => written }
}

describe('loggerOptions', () => {
  it('writes every line with the configured secrets masked, whatever logged them and however', () => {
    const { log, written } = logger({
      OPENAI_API_KEY: KEY,
      DATABASE_URL: `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com/app`,
    })
    log.info({ detail: `upstream said ${KEY}` }, `message with token_${KEY}`)
    log.error({ err: new Error(`cannot connect with password ${PASSWORD}`) }, 'store failed')
    log.warn({ url: `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com/app` }, 'url')
    const text = written()
    expect(text.split('\n').filter(Boolean)).toHaveLength(3)
    for (const secret of [
      KEY,
      PASSWORD,
      JSON.stringify(PASSWORD).slice(1, -1),
      encodeURIComponent(PASSWORD),
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(text).toContain('upstream said [redacted]')
    expect(text).toContain('token_[redacted]')
  })

  it('writes lines unchanged when nothing secret is configured', () => {
    const { log, written } = logger({})
    log.info({ detail: KEY }, 'hello')
    expect(JSON.parse(written())).toMatchObject({ msg: 'hello', detail: KEY })
  })
})
