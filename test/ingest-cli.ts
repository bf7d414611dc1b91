import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { onTestFinished } from 'vitest'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

export interface IngestOutcome {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `npm run ingest -- ...args` as a user would, in `cwd` with its own data folder, keyword-only and
 * without an OpenAI key or database; never rejects. A run still going when the test ends is stopped.
 */
export async function runIngest(
  cwd: string,
  args: string[],
  environment: Record<string, string> = {},
): Promise<IngestOutcome> {
  const { OPENAI_API_KEY: _key, DATABASE_URL: _url, GENAI_API_KEY: _apiKey, ...inherited } = process.env
  const running = new AbortController()
  onTestFinished(() => running.abort())
  try {
    const { stdout, stderr } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      [join(ROOT, 'src/cli/ingest.ts'), ...args],
      {
        cwd,
        env: { ...inherited, RAG_DATA_DIR: join(cwd, 'data'), EMBEDDING_PROVIDER: 'none', ...environment },
        signal: running.signal,
      },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}
