import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES_DIR } from './fixtures.js'

// The project's copy must stay byte-exact with the shared wire recordings it was taken from.
const SHARED = join(FIXTURES_DIR, '../../../shared/fixtures')

// Outside CI a clone may stand alone; in CI shared/ is always beside it, so a skip there is a failure.
const skip = !existsSync(SHARED) && !process.env.CI
if (skip) console.warn(`NOTICE: ${SHARED} not found; fixture drift check skipped`)

describe.skipIf(skip)('test fixtures', () => {
  it('are byte-identical to shared/fixtures', () => {
    // Top-level files are the copies; folders (ingest/, rag-corpus/) are this project's own.
    const ours = readdirSync(FIXTURES_DIR, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
    expect(ours.length).toBeGreaterThan(0)
    for (const name of ours) {
      expect(readFileSync(join(FIXTURES_DIR, name)).equals(readFileSync(join(SHARED, name))), name).toBe(true)
    }
  })
})
