import type { Pool, PoolClient } from 'pg'
import type { EmbeddingSpace } from '../../../providers/embeddings.js'

/**
 * The text search configuration of the `tsv` column and of every keyword query. 'english' (lower case,
 * English stop words dropped, Snowball stemming) because retrieval sends the user's whole question and
 * websearch_to_tsquery ANDs its words: with 'simple', "how do panels work" would also require "how" and
 * "do" in the chunk. Accented words stay searchable as written ('café' finds 'café'); folding them
 * ('cafe' finds 'café') needs the unaccent extension, which PGlite does not ship. Baked into migration 1:
 * changing it needs a new migration that rebuilds the column.
 */
export const TEXT_SEARCH_CONFIG = 'english'

/** Widest vector an HNSW index takes; wider ones are indexed as half precision (pgvector's limit). */
const HNSW_VECTOR_MAX = 2000
const HNSW_HALFVEC_MAX = 4000

/** How vector search must order so the planner can use the HNSW index (the same expression as the index). */
export function vectorOrdering(dimensions: number): { column: string; parameter: string } {
  if (dimensions > HNSW_VECTOR_MAX && dimensions <= HNSW_HALFVEC_MAX) {
    // $1 is cast to vector first: one parameter cannot be deduced as two types in one statement.
    return { column: `c.embedding::halfvec(${dimensions})`, parameter: `$1::vector::halfvec(${dimensions})` }
  }
  return { column: 'c.embedding', parameter: '$1::vector' }
}

interface Migration {
  id: number
  /** Runs inside the migration's transaction; `schema` is already quoted. */
  up(client: PoolClient, schema: string, space: EmbeddingSpace): Promise<void>
}

const MIGRATIONS: Migration[] = [
  {
    id: 1,
    async up(client, schema) {
      // COLLATE "C": ids sort by code point, as the contract's `list` order expects, on any database locale.
      await client.query(`
        CREATE TABLE ${schema}.rag_store_info (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE ${schema}.rag_documents (
          id text COLLATE "C" PRIMARY KEY,
          title text NOT NULL,
          source text NOT NULL,
          metadata jsonb NOT NULL,
          text_hash text NOT NULL,
          chunk_count integer NOT NULL,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL
        );
        CREATE TABLE ${schema}.rag_chunks (
          id text COLLATE "C" PRIMARY KEY,
          document_id text COLLATE "C" NOT NULL REFERENCES ${schema}.rag_documents (id) ON DELETE CASCADE,
          idx integer NOT NULL,
          text text NOT NULL,
          text_hash text NOT NULL,
          token_count integer NOT NULL,
          tsv tsvector GENERATED ALWAYS AS (to_tsvector('${TEXT_SEARCH_CONFIG}'::regconfig, text)) STORED
        );
        CREATE INDEX rag_chunks_tsv ON ${schema}.rag_chunks USING gin (tsv);
        CREATE INDEX rag_chunks_text_hash ON ${schema}.rag_chunks (text_hash);
        CREATE INDEX rag_chunks_document ON ${schema}.rag_chunks (document_id, idx);
      `)
    },
  },
  {
    // The vector width is the configured one, so this runs with the space of the first open().
    id: 2,
    async up(client, schema, space) {
      await client.query(
        `INSERT INTO ${schema}.rag_store_info (key, value) VALUES ('embedding_model', $1), ('embedding_dimensions', $2)`,
        [space.model, String(space.dimensions)],
      )
      const dimensions = space.dimensions
      if (dimensions === 0) return
      await client.query('CREATE EXTENSION IF NOT EXISTS vector')
      await client.query(`ALTER TABLE ${schema}.rag_chunks ADD COLUMN embedding vector(${dimensions})`)
      if (dimensions <= HNSW_VECTOR_MAX) {
        // Inline, uncompressed: a TOASTed 1536-d vector leaves a tiny heap, so the planner prices a sequential
        // scan far below its real cost (older pgvector then skips the index), and vectors do not compress
        // anyway. Up to 2000 dimensions (8 kB) a row still fits a page.
        await client.query(`ALTER TABLE ${schema}.rag_chunks ALTER COLUMN embedding SET STORAGE PLAIN`)
        await client.query(
          `CREATE INDEX rag_chunks_embedding_hnsw ON ${schema}.rag_chunks USING hnsw (embedding vector_cosine_ops)`,
        )
      } else if (dimensions <= HNSW_HALFVEC_MAX) {
        // e.g. text-embedding-3-large (3072): too wide for an HNSW index on vector, and for a page.
        await client.query(
          `CREATE INDEX rag_chunks_embedding_hnsw ON ${schema}.rag_chunks ` +
            `USING hnsw ((embedding::halfvec(${dimensions})) halfvec_cosine_ops)`,
        )
      }
      // Wider still: no ANN index in pgvector; vector search stays exact (a scan).
    },
  },
]

/** One key for all stores of the database: CREATE EXTENSION is database-wide, so schemas race too. */
const LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('genai-fastify:rag-migrations', 0))"

/** Runs `work` in a transaction on one pooled connection; rolls back on error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    // Explicitly READ COMMITTED whatever the database default: a migration's check after taking the lock
    // must see what the previous holder committed, and a snapshot from before the lock would not.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED')
    const result = await work(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (error) {
    const rolledBack = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    )
    // A connection whose ROLLBACK failed is in an unknown state: drop it rather than pool it.
    client.release(!rolledBack)
    throw error
  }
}

/**
 * Brings `schema` to the latest migration and answers the embedding space it was built with. Each
 * migration runs in its own transaction holding a transaction-level advisory lock and checks again,
 * under the lock, that it is still pending: servers starting together apply each migration once, and a
 * lock can never outlive its transaction on a pooled connection.
 */
export async function migrate(pool: Pool, schema: string, space: EmbeddingSpace): Promise<EmbeddingSpace> {
  const applied = await inTransaction(pool, async (client) => {
    await client.query(LOCK)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
        id integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    )
    return appliedIds(client, schema)
  })
  for (const migration of MIGRATIONS.filter(({ id }) => !applied.has(id))) {
    await inTransaction(pool, async (client) => {
      await client.query(LOCK)
      if ((await appliedIds(client, schema)).has(migration.id)) return
      await migration.up(client, schema, space)
      await client.query(`INSERT INTO ${schema}.schema_migrations (id) VALUES ($1)`, [migration.id])
    })
  }
  const { rows } = await pool.query<{ key: string; value: string }>(
    `SELECT key, value FROM ${schema}.rag_store_info`,
  )
  const info = new Map(rows.map((row) => [row.key, row.value]))
  return { model: info.get('embedding_model') ?? '', dimensions: Number(info.get('embedding_dimensions')) }
}

async function appliedIds(client: PoolClient, schema: string): Promise<Set<number>> {
  const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${schema}.schema_migrations`)
  return new Set(rows.map((row) => row.id))
}
