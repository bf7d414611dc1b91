import { describe, expect, it, vi } from 'vitest'
import { retryCommitConflicts } from '../../../../src/rag/stores/lancedb/commit-conflicts.js'

// LanceDB's own wording, from a concurrent first search on main (issue 12).
const conflict = () =>
  new Error(
    'lance error: Retryable commit conflict for version 3: This CreateIndex transaction was preempted',
  )

describe('retryCommitConflicts', () => {
  it('commits again after a commit conflict, and answers what the commit that went through answered', async () => {
    const commit = vi
      .fn()
      .mockRejectedValueOnce(conflict())
      .mockRejectedValueOnce(conflict())
      .mockResolvedValue(7)
    await expect(retryCommitConflicts(commit)).resolves.toBe(7)
    expect(commit).toHaveBeenCalledTimes(3)
  })

  it('fails at once on any other error', async () => {
    const commit = vi.fn().mockRejectedValue(new Error('No space left on device'))
    await expect(retryCommitConflicts(commit)).rejects.toThrow('No space left on device')
    expect(commit).toHaveBeenCalledTimes(1)
  })

  it('gives up after 8 attempts of conflicts, with the last conflict', async () => {
    vi.useFakeTimers()
    try {
      const commit = vi.fn().mockRejectedValue(conflict())
      const result = expect(retryCommitConflicts(commit)).rejects.toThrow('Retryable commit conflict')
      await vi.runAllTimersAsync()
      await result
      expect(commit).toHaveBeenCalledTimes(8)
    } finally {
      vi.useRealTimers()
    }
  })
})
