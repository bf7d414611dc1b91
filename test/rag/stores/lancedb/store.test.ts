import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
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

  it('has the full-text index of what was written once indexForSearch() resolves, without maintenance', async () => {
    store = new LanceStore({ directory, maintenanceDelayMs: 0 })
    await store.open({ model: 'none', dimensions: 0 })
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await store.upsert(document, chunks)
    connection = await lancedb.connect(directory)
    table = await connection.openTable('chunks')
    expect(await table.listIndices()).toEqual([])
    await store.indexForSearch()
    await table.checkoutLatest()
    const [index] = await table.listIndices()
    expect([index?.indexType, index?.columns]).toEqual(['FTS', ['text']])
    expect(await table.indexStats(index?.name as string)).toMatchObject({
      numIndexedRows: 1,
      numUnindexedRows: 0,
    })
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

/** A new folder for each test, and what the test opened there closed, last first, before it is removed. */
function useFolder(prefix: string) {
  const folder = { directory: '', opened: [] as { close(): unknown }[] }
  beforeEach(async () => {
    folder.directory = await mkdtemp(join(tmpdir(), prefix))
  })
  afterEach(async () => {
    for (const resource of folder.opened.splice(0).reverse()) await resource.close()
    await rm(folder.directory, { recursive: true, force: true })
  })
  return folder
}

describe('LanceDB writes and other processes', () => {
  const folder = useFolder('lance-writes-')

  async function openStore(options: { readConsistencyMs?: number } = {}) {
    const store = new LanceStore({ directory: folder.directory, maintenanceDelayMs: 0, ...options })
    await store.open({ model: 'none', dimensions: 0 })
    folder.opened.push(store)
    return store
  }

  it('writes no new table version when deleting an unknown id', async () => {
    const store = await openStore()
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await store.upsert(document, chunks)
    const connection = await lancedb.connect(folder.directory)
    folder.opened.push(connection)
    const tables = await Promise.all(['documents', 'chunks'].map((name) => connection.openTable(name)))
    folder.opened.push(...tables)
    const versions = async () => {
      for (const table of tables) await table.checkoutLatest()
      return Promise.all(tables.map((table) => table.version()))
    }
    const before = await versions()
    expect(await store.delete('nope')).toBe(false)
    expect(await versions()).toEqual(before)
    expect(await store.delete('bread')).toBe(true)
    expect((await versions()).every((version, index) => version > (before[index] ?? 0))).toBe(true)
  })

  it("sees another process's writes within its read consistency interval", async () => {
    const server = await openStore({ readConsistencyMs: 200 })
    // The server has read the table once: without the interval it would keep that version for ever.
    expect((await server.list({ offset: 0, limit: 10 })).total).toBe(0)
    const cli = await openStore()
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await cli.upsert(document, chunks)
    await waitFor(async () => (await server.get('bread')) !== undefined, { timeout: 5_000, interval: 50 })
    expect((await server.searchKeyword('yeast', { topK: 5 })).map((hit) => hit.chunk.id)).toEqual(['bread:0'])
  })

  it("does not see another process's writes without a read consistency check (why the interval is set)", async () => {
    const server = await openStore({ readConsistencyMs: 3_600_000 })
    expect((await server.list({ offset: 0, limit: 10 })).total).toBe(0)
    const cli = await openStore()
    const { document, chunks } = makeDocument('bread', ['Sourdough bread rises with wild yeast.'])
    await cli.upsert(document, chunks)
    expect(await cli.get('bread')).toBeDefined()
    expect(await server.get('bread')).toBeUndefined()
  })
})

describe('LanceDB appends new documents instead of merging them', () => {
  const folder = useFolder('lance-append-')
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A store, its chunks table seen from outside, and spies on every table's add() and mergeInsert(). */
  async function setUp() {
    // Reads the folder's latest version on every read: the last test changes it from outside.
    const store = new LanceStore({ directory: folder.directory, maintenanceDelayMs: 0, readConsistencyMs: 0 })
    await store.open({ model: 'none', dimensions: 0 })
    folder.opened.push(store)
    const connection = await lancedb.connect(folder.directory)
    folder.opened.push(connection)
    const chunks = await connection.openTable('chunks')
    folder.opened.push(chunks)
    // One class behind every table, the store's included.
    const tableClass = Object.getPrototypeOf(chunks)
    const add = vi.spyOn(tableClass, 'add')
    const merge = vi.spyOn(tableClass, 'mergeInsert')
    const write = (id: string, texts: string[]) => {
      const { document, chunks } = makeDocument(id, texts)
      return store.upsert(document, chunks)
    }
    return { store, chunks, add, merge, write }
  }

  it('appends a batch of ids the store does not have, and merges once any of them exists', async () => {
    const { store, add, merge } = await setUp()
    await store.upsertMany([makeDocument('a', ['one', 'two']), makeDocument('b', ['three'])])
    expect([add.mock.calls.length, merge.mock.calls.length]).toEqual([2, 0])
    await store.upsertMany([makeDocument('b', ['three again']), makeDocument('c', ['four'])])
    expect([add.mock.calls.length, merge.mock.calls.length]).toEqual([2, 2])
    expect((await store.chunks('b')).map((chunk) => chunk.text)).toEqual(['three again'])
    expect((await store.chunks('c')).map((chunk) => chunk.text)).toEqual(['four'])
    expect((await store.list({ offset: 0, limit: 10 })).total).toBe(3)
  })

  it('replaces the chunks of a re-ingested document, appended the first time', async () => {
    const { store, add, merge, write } = await setUp()
    await write('bread', ['old one', 'old two', 'old three'])
    await write('bread', ['new one'])
    expect([add.mock.calls.length, merge.mock.calls.length]).toEqual([2, 2])
    expect((await store.chunks('bread')).map((chunk) => chunk.text)).toEqual(['new one'])
  })

  it('merges, not appends, over chunk rows left without their document (a crash between the two commits)', async () => {
    const { chunks, add, write } = await setUp()
    // The chunk commit of a write whose document commit never happened.
    await write('bread', ['orphan one', 'orphan two'])
    const documents = await (await lancedb.connect(folder.directory)).openTable('documents')
    folder.opened.push(documents)
    await documents.delete("id = 'bread'")
    add.mockClear()
    await write('bread', ['kept one', 'kept two'])
    expect(add).not.toHaveBeenCalled()
    await chunks.checkoutLatest()
    expect(
      (await chunks.query().where("document_id = 'bread'").toArray()).map((row) => String(row.text)).sort(),
    ).toEqual(['kept one', 'kept two'])
  })
})
