import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { loadLanceStore } from '../../src/rag/stores/lancedb/load.js'
import { testConfig } from '../helpers.js'
import { describeStoreContract, makeDocument } from './store-contract.js'

const { LanceStore } = await loadLanceStore(testConfig())
// Only after the store: LanceDB must load through loadLanceStore.
const lancedb = await import('@lancedb/lancedb')

describeStoreContract('LanceDB', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'lance-contract-'))
  return {
    create: () => new LanceStore({ directory, maintenanceDelayMs: 0 }),
    destroy: () => rm(directory, { recursive: true, force: true }),
  }
})

describe('LanceDB index maintenance', () => {
  it('indexes new rows on its own shortly after a write: full-text and id, document, hash lookups', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'lance-maintenance-'))
    const store = new LanceStore({ directory, maintenanceDelayMs: 50 })
    await store.open({ model: 'none', dimensions: 0 })
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await store.upsert(document, chunks)
    const table = await (await lancedb.connect(directory)).openTable('chunks')
    const indexed = async () => {
      await table.checkoutLatest()
      return (await table.listIndices()).flatMap((index) => index.columns).sort()
    }
    const deadline = Date.now() + 10_000
    while ((await indexed()).length < 4 && Date.now() < deadline) await sleep(50)
    expect(await indexed()).toEqual(['document_id', 'id', 'text', 'text_hash'])
    table.close()
    await store.close()
    await rm(directory, { recursive: true, force: true })
  })
})
