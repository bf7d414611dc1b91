import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LanceStore } from '../../src/rag/stores/lancedb.js'
import { describeStoreContract } from './store-contract.js'

describeStoreContract('LanceDB', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'lance-contract-'))
  return {
    create: () => new LanceStore({ directory, maintenanceDelayMs: 0 }),
    destroy: () => rm(directory, { recursive: true, force: true }),
  }
})
