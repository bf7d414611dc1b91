import { afterEach, describe, expect, it } from 'vitest'
import { loadLanceStore } from '../../../../src/rag/stores/lancedb/load.js'

describe('loadLanceStore', () => {
  const before = process.env.LANCE_CPU_THREADS
  afterEach(() => {
    if (before === undefined) delete process.env.LANCE_CPU_THREADS
    else process.env.LANCE_CPU_THREADS = before
  })

  it('sets LANCE_CPU_THREADS from the configuration and hands back the store', async () => {
    const { LanceStore } = await loadLanceStore({ LANCE_CPU_THREADS: 3 })
    expect(process.env.LANCE_CPU_THREADS).toBe('3')
    expect(LanceStore.name).toBe('LanceStore')
  })
})
