import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadLanceStore } from '../../../../src/rag/stores/lancedb/load.js'
import { testConfig } from '../../../helpers.js'
import { waitFor } from '../../../wait-for.js'
import { describeStoreContract, makeDocument } from '../store-contract.js'
import { describeStoreIntegrity } from '../store-integrity-contract.js'

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

describeStoreIntegrity('LanceDB', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'lance-integrity-'))
  return {
    create: () => new LanceStore({ directory, maintenanceDelayMs: 0 }),
    destroy: () => rm(directory, { recursive: true, force: true }),
  }
})

describe('LanceDB index maintenance', () => {
  let directory: string
  let store: InstanceType<typeof LanceStore> | undefined
  let connection: import('@lancedb/lancedb').Connection | undefined
  let table: import('@lancedb/lancedb').Table | undefined

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lance-maintenance-'))
  })
  afterEach(async () => {
    table?.close()
    connection?.close()
    await store?.close()
    table = connection = store = undefined
    await rm(directory, { recursive: true, force: true })
  })

  it('indexes new rows on its own shortly after a write: full-text and id, document, hash lookups', async () => {
    store = new LanceStore({ directory, maintenanceDelayMs: 50 })
    await store.open({ model: 'none', dimensions: 0 })
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await store.upsert(document, chunks)
    connection = await lancedb.connect(directory)
    const chunkTable = await connection.openTable('chunks')
    table = chunkTable
    const indexed = async () => {
      await chunkTable.checkoutLatest()
      return (await chunkTable.listIndices()).flatMap((index) => index.columns).sort()
    }
    await waitFor(async () => (await indexed()).length >= 4, { timeout: 10_000, interval: 50 })
    expect(await indexed()).toEqual(['document_id', 'id', 'text', 'text_hash'])
  })
})
