import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { escapeIdentifier, Pool } from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EmbeddingSpace } from '../../../../src/providers/embeddings.js'
import { vectorSearchStatement } from '../../../../src/rag/stores/postgres/statements.js'
import { PostgresStore } from '../../../../src/rag/stores/postgres/store.js'
import { describeStoreContract, makeDocument, type StoreHarness } from '../store-contract.js'
import { describeStoreIntegrity } from '../store-integrity-contract.js'

// One in-process PGlite (a single Postgres backend) per file, served over the real wire protocol.
// pglite-socket multiplexes connections onto that one backend message by message: it keeps a BEGIN block
// to the connection that opened it, but interleaves other connections' statements. So every pool here
// has at most one connection, and the server allows a few so a closing pool and the next one overlap.
let database: PGlite
let server: PGLiteSocketServer
let connectionString: string
let admin: Pool
let schemas = 0

beforeAll(async () => {
  database = await PGlite.create({ extensions: { vector } })
  server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 8 })
  await server.start()
  connectionString = `postgres://postgres:postgres@${server.getServerConn()}/postgres`
  admin = new Pool({ connectionString, max: 1 })
}, 60_000)

afterAll(async () => {
  await admin?.end()
  await server?.stop()
  await database?.close()
})

const newSchema = () => `store_${++schemas}`
const dropSchema = (schema: string) =>
  admin.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`)
const storeIn = (schema: string) => new PostgresStore({ connectionString, schema, maxConnections: 1 })

async function makeHarness(): Promise<StoreHarness> {
  const schema = newSchema()
  return { create: () => storeIn(schema), destroy: () => dropSchema(schema).then(() => undefined) }
}

describeStoreContract('PostgreSQL', makeHarness)
describeStoreIntegrity('PostgreSQL', makeHarness)

/** A deterministic unit vector of any width, distinct per seed. */
function wideVector(dimensions: number, seed: number): Float32Array {
  const vector = Float32Array.from({ length: dimensions }, (_, index) => Math.sin(seed * 7.1 + index * 0.37))
  const norm = Math.hypot(...vector)
  return vector.map((value) => value / norm)
}

/** Opens `store` for `dimensions`-wide vectors and adds ten one-chunk documents, each along its own seed. */
async function seedStore(store: PostgresStore, dimensions: number) {
  await store.open({ model: 'test:wide', dimensions })
  for (let seed = 0; seed < 10; seed++) {
    const { document, chunks } = makeDocument(`doc-${seed}`, [`Chunk number ${seed}.`], {
      metadata: { even: seed % 2 === 0 },
    })
    await store.upsert(
      document,
      chunks.map((chunk) => ({ ...chunk, vector: wideVector(dimensions, seed) })),
    )
  }
}

/** The plan of a statement with sequential scans priced out, so the test does not depend on row counts. */
async function planOf(statement: { text: string; values?: unknown[] }): Promise<string> {
  const client = await admin.connect()
  try {
    await client.query('SET enable_seqscan = off')
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${statement.text}`,
      statement.values,
    )
    return rows.map((row) => row['QUERY PLAN']).join('\n')
  } finally {
    await client.query('RESET enable_seqscan')
    client.release()
  }
}

describe('PostgreSQL store vector index', () => {
  const schema = newSchema()
  let store: PostgresStore | undefined

  afterEach(async () => {
    await store?.close()
    store = undefined
    await dropSchema(schema)
  })

  it('declares 1536-dimensional vectors STORAGE PLAIN', async () => {
    store = storeIn(schema)
    await store.open({ model: 'test:wide', dimensions: 1536 })
    const { rows } = await admin.query(
      `SELECT attstorage FROM pg_attribute
      WHERE attrelid = $1::regclass AND attname = 'embedding'`,
      [`${escapeIdentifier(schema)}.rag_chunks`],
    )
    expect(rows).toEqual([{ attstorage: 'p' }])
  })

  it('searches 1536-dimensional vectors through the HNSW index', async () => {
    store = storeIn(schema)
    await seedStore(store, 1536)
    const plan = await planOf(vectorSearchStatement(schema, 1536, wideVector(1536, 3), { topK: 5 }))
    expect(plan).toContain('Index Scan using rag_chunks_embedding_hnsw on rag_chunks')
  })

  it('searches 3072-dimensional vectors through a half-precision HNSW index', async () => {
    store = storeIn(schema)
    await seedStore(store, 3072)
    const plan = await planOf(vectorSearchStatement(schema, 3072, wideVector(3072, 3), { topK: 5 }))
    expect(plan).toContain('Index Scan using rag_chunks_embedding_hnsw on rag_chunks')
  })

  it('rejects a chunk whose vector is not as wide as the store', async () => {
    store = storeIn(schema)
    await store.open({ model: 'test:wide', dimensions: 1536 })
    const { document, chunks } = makeDocument('narrow', ['Too few dimensions.'])
    const narrow = chunks.map((chunk) => ({ ...chunk, vector: wideVector(8, 1) }))
    await expect(store.upsert(document, narrow)).rejects.toThrow(
      'has a vector of 8 dimensions; the store holds 1536',
    )
  })

  it('scores 3072-dimensional hits by their full-precision cosine similarity', async () => {
    store = storeIn(schema)
    await seedStore(store, 3072)
    const [best] = await store.searchVector(wideVector(3072, 3), { topK: 1 })
    expect(best?.chunk.id).toBe('doc-3:0')
    expect(best?.score).toBeCloseTo(1, 6)
  })
})

describe('PostgreSQL store migrations', () => {
  const schema = newSchema()
  const space: EmbeddingSpace = { model: 'test:unit-vectors', dimensions: 8 }
  const stores: PostgresStore[] = []

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()))
    await dropSchema(schema)
  })

  it('records each numbered migration once', async () => {
    stores.push(storeIn(schema))
    await stores[0]?.open(space)
    const { rows } = await admin.query(
      `SELECT id FROM ${escapeIdentifier(schema)}.schema_migrations ORDER BY id`,
    )
    expect(rows).toEqual([{ id: 1 }, { id: 2 }])
  })

  it('lets two stores open the same new schema at the same time', async () => {
    stores.push(storeIn(schema), storeIn(schema))
    await expect(Promise.all(stores.map((store) => store.open(space)))).resolves.toEqual([
      undefined,
      undefined,
    ])
    const { rows } = await admin.query(
      `SELECT id FROM ${escapeIdentifier(schema)}.schema_migrations ORDER BY id`,
    )
    expect(rows).toEqual([{ id: 1 }, { id: 2 }])
  })
})

describe('PostgreSQL store on a caller-supplied pool', () => {
  const schema = newSchema()
  let pool: Pool
  let store: PostgresStore | undefined

  /** A one-connection pool whose connections start with `settings`. */
  function poolWith(settings: string) {
    pool = new Pool({ connectionString, max: 1 })
    pool.on('connect', (client) => client.query(settings))
    return pool
  }

  afterEach(async () => {
    await store?.close()
    store = undefined
    await pool.end()
    await dropSchema(schema)
    // PGlite has one backend session for all connections: undo the settings for the next tests.
    await admin.query('RESET ALL')
  })

  it('returns timestamps exactly as stored whatever the session time zone', async () => {
    store = new PostgresStore({
      connectionString,
      schema,
      pool: poolWith("SET TimeZone = 'America/St_Johns'"),
    })
    await store.open({ model: 'none', dimensions: 0 })
    const { document, chunks } = makeDocument('late', ['Half-hour offsets are the trickiest.'])
    await store.upsert(document, chunks)
    const stored = await store.get('late')
    expect([stored?.createdAt, stored?.updatedAt]).toEqual([
      '2026-11-26T12:00:00.000Z',
      '2026-11-26T12:00:00.000Z',
    ])
  })

  it('fills topK with filtered hits when the index offers fewer candidates than the filter drops', async () => {
    // The HNSW index forced (a selective filter is otherwise applied first, then sorted exactly) and made to
    // offer one candidate per step: without iterative scans this finds at most one hit.
    store = new PostgresStore({
      connectionString,
      schema,
      pool: poolWith('SET enable_seqscan = off; SET enable_sort = off; SET hnsw.ef_search = 1'),
    })
    await seedStore(store, 8)
    const hits = await store.searchVector(wideVector(8, 3), { topK: 5, filter: { even: true } })
    expect(hits.map((hit) => hit.document.id).sort()).toEqual(['doc-0', 'doc-2', 'doc-4', 'doc-6', 'doc-8'])
  })

  it('leaves a caller-supplied pool open when it closes', async () => {
    store = new PostgresStore({ connectionString, schema, pool: poolWith('SELECT 1') })
    await store.open({ model: 'none', dimensions: 0 })
    await store.close()
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })
})
