import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURE = join(ROOT, 'test/fixtures/layers')
const run = promisify(execFile)

/** `npm run lint:layers` as CI runs it, on the fixture tree: its exit code and `rule: from → to` lines. */
async function cruiseFixture() {
  const command = join(ROOT, 'node_modules/.bin/depcruise')
  const config = join(ROOT, '.dependency-cruiser.cjs')
  try {
    await run(command, ['src', '--config', config], { cwd: FIXTURE })
    return { code: 0, violations: [] }
  } catch (error) {
    const failed = error as { code: number; stdout: string }
    // A cycle's next module is on the next line; a package is named by its folder under node_modules.
    const lines = [...failed.stdout.matchAll(/^\s*error (\S+): (\S+) →\s+(\S+)/gm)]
    const violations = lines.map(([, rule, from, to = '']) => {
      const packageName = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(to)?.[1]
      return `${rule}: ${from} → ${packageName ?? to}`
    })
    return { code: failed.code, violations }
  }
}

describe('npm run lint:layers', () => {
  let result: Awaited<ReturnType<typeof cruiseFixture>>
  beforeAll(async () => {
    result = await cruiseFixture()
  }, 60_000)

  it('exits with the number of violations, one per broken import in the fixture', () => {
    expect(result.code).toBe(result.violations.length)
    expect(result.violations).toHaveLength(8)
  })

  it('forbids a lower layer importing a higher one, types included', () => {
    expect(result.violations).toContain('foundation-imports-only-itself: src/config.ts → src/rag/types.ts')
    expect(result.violations).toContain(
      'providers-imports-only-foundation: src/providers/adapter.ts → src/rag/types.ts',
    )
    expect(result.violations).toContain(
      'services-imports-only-streaming-rag-providers-foundation: src/services/upward.ts → src/routes/chat.ts',
    )
  })

  it('forbids streaming and rag importing each other', () => {
    expect(result.violations).toContain(
      'streaming-imports-only-providers-foundation: src/streaming/source.ts → src/rag/types.ts',
    )
  })

  it('lets routes import rag and provider types but not their values', () => {
    expect(result.violations).toContain(
      'routes-import-rag-providers-types-only: src/routes/chat.ts → src/providers/adapter.ts',
    )
    expect(result.violations.filter((line) => line.includes('src/routes/chat.ts → src/rag/'))).toEqual([])
  })

  it('keeps vendor packages in their adapters', () => {
    expect(result.violations).toContain('llm-vendors-only-in-providers: src/services/agent.ts → undici')
    expect(result.violations).toContain('store-vendors-only-in-rag-stores: src/rag/retrieve.ts → pg')
  })

  it('forbids cycles', () => {
    expect(result.violations).toContain('no-circular: src/streaming/frames.ts → src/streaming/source.ts')
  })

  it('lets the wiring import any layer', () => {
    expect(result.violations.filter((line) => line.includes(': src/app.ts →'))).toEqual([])
  })
})
