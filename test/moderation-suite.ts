import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { ndjsonReply, startFakeOllama } from './fakes/ollama.js'
import { okReply, startFakeOpenAI } from './fakes/openai.js'
import type { FakeUpstream } from './fakes/upstream.js'

export interface ModerationSuite {
  openai: FakeUpstream
  ollama: FakeUpstream
  /** The suite's MODERATION_POLICY_FILE (empty when no policy was given). */
  policyPath: string
  /** The suite's own folder: the policy file, and RAG_DATA_DIR (refused inputs never reach the store). */
  directory: string
  /** The environment that points an app at the fakes and the folder, plus `extra`. */
  environment(extra?: Record<string, string>): Record<string, string>
}

/**
 * Registers hooks for a suite of moderation tests: a fake OpenAI and a fake Ollama, reset to their
 * recorded answers before each test, and a folder with `policy` written as the policy file. A suite's
 * own hooks that build its apps, registered after this call, run after these start and before they close.
 */
export function useModerationSuite(policy?: unknown): ModerationSuite {
  const suite: ModerationSuite = {
    openai: undefined as unknown as FakeUpstream,
    ollama: undefined as unknown as FakeUpstream,
    policyPath: '',
    directory: '',
    environment: (extra = {}) => ({
      OPENAI_BASE_URL: suite.openai.url,
      OLLAMA_HOST: suite.ollama.url,
      RAG_DATA_DIR: suite.directory,
      ...(suite.policyPath ? { MODERATION_POLICY_FILE: suite.policyPath } : {}),
      ...extra,
    }),
  }
  beforeAll(async () => {
    suite.directory = await mkdtemp(join(tmpdir(), 'moderation-'))
    if (policy !== undefined) {
      suite.policyPath = join(suite.directory, 'policy.json')
      await writeFile(suite.policyPath, JSON.stringify(policy))
    }
    suite.openai = await startFakeOpenAI()
    suite.ollama = await startFakeOllama()
  })
  afterAll(async () => {
    await Promise.all([suite.openai?.close(), suite.ollama?.close()])
    await rm(suite.directory, { recursive: true, force: true })
  })
  beforeEach(() => {
    suite.openai.reset(okReply())
    suite.ollama.reset(ndjsonReply())
  })
  return suite
}
