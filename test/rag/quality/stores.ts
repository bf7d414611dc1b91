import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { loadLanceStore } from '../../../src/rag/stores/lancedb/load.js'
import { PostgresStore } from '../../../src/rag/stores/postgres/store.js'
import type { DocumentStore } from '../../../src/rag/types.js'
import { testConfig } from '../../helpers.js'

const { LanceStore } = await loadLanceStore(testConfig())

/** Makes empty stores of one adapter, each in its own folder or schema; `close` removes them all. */
export interface StoreFactory {
  name: string
  create(label: string): Promise<DocumentStore>
  close(): Promise<void>
}

export async function lanceStores(): Promise<StoreFactory> {
  const directory = await mkdtemp(join(tmpdir(), 'quality-'))
  return {
    name: 'LanceDB',
    create: async (label) => new LanceStore({ directory: join(directory, label), maintenanceDelayMs: 0 }),
    close: () => rm(directory, { recursive: true, force: true }),
  }
}

/**
 * PostgreSQL: one in-process PGlite with pgvector, served over the wire protocol as in
 * test/rag/stores/postgres (one connection per pool: PGlite is a single backend).
 */
export async function postgresStores(): Promise<StoreFactory> {
  const database = await PGlite.create({ extensions: { vector } })
  const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 8 })
  await server.start()
  const connectionString = `postgres://postgres:postgres@${server.getServerConn()}/postgres`
  return {
    name: 'PostgreSQL',
    create: async (label) =>
      new PostgresStore({ connectionString, schema: label.replaceAll('-', '_'), maxConnections: 1 }),
    close: async () => {
      await server.stop()
      await database.close()
    },
  }
}
