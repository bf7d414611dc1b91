import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

/** Registers hooks that write `policy` as a MODERATION_POLICY_FILE for the suite, removed after it. */
export function usePolicyFile(policy: unknown): { path: string; directory: string } {
  const context = { path: '', directory: '' }
  beforeAll(async () => {
    context.directory = await mkdtemp(join(tmpdir(), 'moderation-'))
    context.path = join(context.directory, 'policy.json')
    await writeFile(context.path, typeof policy === 'string' ? policy : JSON.stringify(policy))
  })
  afterAll(async () => {
    await rm(context.directory, { recursive: true, force: true })
  })
  return context
}
