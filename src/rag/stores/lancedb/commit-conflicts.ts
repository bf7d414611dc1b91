/**
 * LanceDB commits optimistically: a commit racing another that touched the same files (an index build, a
 * compaction, a delete) fails with "Retryable commit conflict" and wrote nothing, so doing it again is
 * safe. The store's own writes of one document are serialised (KeyedLock); these conflicts come from
 * index maintenance and writes of other documents, and must not fail a request.
 */
const CONFLICT = /retryable commit conflict|commit conflict|too many concurrent writers/i

/** Attempts in all; a conflict lasts as long as the other commit, milliseconds to a compaction's seconds. */
const ATTEMPTS = 8
const FIRST_DELAY_MS = 10
const MAX_DELAY_MS = 1_000

export function isCommitConflict(error: unknown): boolean {
  return error instanceof Error && CONFLICT.test(error.message)
}

/** Runs `commit`, again after a short, growing pause each time it fails with a commit conflict. */
export async function retryCommitConflicts<T>(commit: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await commit()
    } catch (error) {
      if (attempt >= ATTEMPTS || !isCommitConflict(error)) throw error
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1))
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)))
    }
  }
}
