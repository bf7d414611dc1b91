import { escapeIdentifier, type QueryConfig } from 'pg'
import { toSql } from 'pgvector'
import type { Metadata, SearchOptions, StoredChunk, StoredDocument } from '../../types.js'
import { TEXT_SEARCH_CONFIG, vectorOrdering } from './migrations.js'

// Every statement of the store, built from the schema's name (quoted here) and the caller's values (always
// parameters). Columns are aliased to the model's field names, and hits built as JSON by the server, so
// rows need no mapping. Timestamps are formatted by the server: the string returned is the one stored
// whatever the session time zone.
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
const DOCUMENT_FIELDS = `id, title, source, metadata, text_hash AS "textHash", chunk_count AS "chunkCount",
  ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt"`
const CHUNK_FIELDS =
  'id, document_id AS "documentId", idx AS "index", text, text_hash AS "textHash", token_count AS "tokenCount"'
const HIT_FIELDS = `json_build_object('id', c.id, 'documentId', c.document_id, 'index', c.idx, 'text', c.text,
    'textHash', c.text_hash, 'tokenCount', c.token_count) AS chunk,
  json_build_object('id', d.id, 'title', d.title, 'source', d.source, 'metadata', d.metadata) AS document`
/** Chunks per INSERT: keeps one statement's parameters to a few MB with wide vectors. */
const INSERT_BATCH = 500

function tables(schemaName: string) {
  const schema = escapeIdentifier(schemaName)
  return { documents: `${schema}.rag_documents`, chunks: `${schema}.rag_chunks` }
}

/** Appends the metadata filter (jsonb containment: every key equal, types included) as parameter `$n`. */
function filterClause(values: unknown[], filter: Metadata | undefined): string {
  if (!filter || Object.keys(filter).length === 0) return ''
  values.push(JSON.stringify(filter))
  return ` AND d.metadata @> $${values.length}::jsonb`
}

/** Inserts or replaces a batch of documents (distinct ids) in one statement. */
export function upsertDocumentsStatement(schemaName: string, documents: StoredDocument[]): QueryConfig {
  const text = `INSERT INTO ${tables(schemaName).documents}
      (id, title, source, metadata, text_hash, chunk_count, created_at, updated_at)
    SELECT d.id, d.title, d.source, d.metadata::jsonb, d.text_hash, d.chunk_count, d.created_at, d.updated_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[],
      $8::timestamptz[]) AS d(id, title, source, metadata, text_hash, chunk_count, created_at, updated_at)
    ON CONFLICT (id) DO UPDATE SET title = excluded.title, source = excluded.source,
      metadata = excluded.metadata, text_hash = excluded.text_hash, chunk_count = excluded.chunk_count,
      created_at = excluded.created_at, updated_at = excluded.updated_at`
  const values = [
    documents.map((document) => document.id),
    documents.map((document) => document.title),
    documents.map((document) => document.source),
    documents.map((document) => JSON.stringify(document.metadata)),
    documents.map((document) => document.textHash),
    documents.map((document) => document.chunkCount),
    documents.map((document) => document.createdAt),
    documents.map((document) => document.updatedAt),
  ]
  return { text, values }
}

/**
 * Takes a transaction-level advisory lock per document id, in one order (by key) so two batches never wait
 * on each other: writes of one document run one at a time from any instance, the last to commit wins
 * whole. The key is the schema and the id hashed together, so stores in other schemas never contend.
 */
export function lockDocumentsStatement(schemaName: string, ids: string[]): QueryConfig {
  const text = `SELECT count(pg_advisory_xact_lock(k.key)) FROM (
      SELECT DISTINCT hashtextextended($1 || '/' || id, 0) AS key FROM unnest($2::text[]) AS id ORDER BY key
    ) k`
  return { text, values: [schemaName, ids] }
}

/** Deletes every chunk of these documents. */
export function deleteChunksStatement(schemaName: string, documentIds: string[]): QueryConfig {
  return {
    text: `DELETE FROM ${tables(schemaName).chunks} WHERE document_id = ANY($1::text[])`,
    values: [documentIds],
  }
}

/**
 * The INSERTs of a batch's chunks, INSERT_BATCH at a time across documents; built as they are taken, so
 * only one slice's vectors are held as SQL text at once. Chunks without a vector, and every chunk of a
 * keyword-only store (`dimensions` 0), get no embedding.
 */
export function* insertChunksStatements(
  schemaName: string,
  chunks: StoredChunk[],
  dimensions: number,
): Generator<QueryConfig> {
  const vectors = dimensions > 0
  const text = `INSERT INTO ${tables(schemaName).chunks}
      (id, document_id, idx, text, text_hash, token_count${vectors ? ', embedding' : ''})
    SELECT c.id, c.document_id, c.idx, c.text, c.text_hash, c.token_count${vectors ? ', c.embedding::vector' : ''}
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[]${vectors ? ', $7::text[]' : ''})
      AS c(id, document_id, idx, text, text_hash, token_count${vectors ? ', embedding' : ''})`
  for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
    const batch = chunks.slice(start, start + INSERT_BATCH)
    const values: unknown[] = [
      batch.map((chunk) => chunk.id),
      batch.map((chunk) => chunk.documentId),
      batch.map((chunk) => chunk.index),
      batch.map((chunk) => chunk.text),
      batch.map((chunk) => chunk.textHash),
      batch.map((chunk) => chunk.tokenCount),
    ]
    if (vectors) values.push(batch.map((chunk) => (chunk.vector ? toSql(Array.from(chunk.vector)) : null)))
    yield { text, values }
  }
}

export function documentStatement(schemaName: string, id: string): QueryConfig {
  return {
    text: `SELECT ${DOCUMENT_FIELDS} FROM ${tables(schemaName).documents} WHERE id = $1`,
    values: [id],
  }
}

export function documentsStatement(schemaName: string, ids: string[]): QueryConfig {
  return {
    text: `SELECT ${DOCUMENT_FIELDS} FROM ${tables(schemaName).documents} WHERE id = ANY($1::text[])`,
    values: [ids],
  }
}

export function chunksStatement(schemaName: string, documentId: string): QueryConfig {
  const text = `SELECT ${CHUNK_FIELDS} FROM ${tables(schemaName).chunks} WHERE document_id = $1 ORDER BY idx`
  return { text, values: [documentId] }
}

/** One statement, so the total and the page come from one snapshot: one row of `{ total, items }`. */
export function pageStatement(schemaName: string, page: { offset: number; limit: number }): QueryConfig {
  const { documents } = tables(schemaName)
  const text = `SELECT (SELECT count(*)::int FROM ${documents}) AS total, coalesce((
      SELECT json_agg(p ORDER BY p.id) FROM (
        SELECT ${DOCUMENT_FIELDS} FROM ${documents} ORDER BY id LIMIT $1 OFFSET $2
      ) p
    ), '[]') AS items`
  return { text, values: [page.limit, page.offset] }
}

/** Deletes a document; its chunks go with it (ON DELETE CASCADE). */
export function deleteDocumentStatement(schemaName: string, id: string): QueryConfig {
  return { text: `DELETE FROM ${tables(schemaName).documents} WHERE id = $1`, values: [id] }
}

/** One stored vector per text hash, as pgvector text: rows of `{ text_hash, embedding }`. */
export function vectorsByHashStatement(schemaName: string, textHashes: string[]): QueryConfig {
  const text = `SELECT DISTINCT ON (text_hash) text_hash, embedding::text AS embedding
    FROM ${tables(schemaName).chunks}
    WHERE text_hash = ANY($1::text[]) AND embedding IS NOT NULL`
  return { text, values: [textHashes] }
}

/**
 * The vector search statement, ordered by the HNSW index's own expression so the planner can use it.
 * Exported for the test that EXPLAINs it.
 */
export function vectorSearchStatement(
  schemaName: string,
  dimensions: number,
  vector: Float32Array,
  options: SearchOptions,
): QueryConfig {
  const { column, parameter } = vectorOrdering(dimensions)
  const { documents, chunks } = tables(schemaName)
  const values: unknown[] = [toSql(Array.from(vector)), options.topK]
  const text = `SELECT ${HIT_FIELDS}, 1 - (c.embedding <=> $1::vector) AS score
    FROM ${chunks} c JOIN ${documents} d ON d.id = c.document_id
    WHERE c.embedding IS NOT NULL${filterClause(values, options.filter)}
    ORDER BY ${column} <=> ${parameter} LIMIT $2`
  return { text, values }
}

/**
 * plainto_tsquery takes any text (quotes, stray operators) without a syntax error, but ANDs its words; a
 * question rarely has all its words in one passage, so they are ORed (as LanceDB's BM25 does). The lexemes
 * are already normalised, so the 'simple' configuration only re-reads them.
 *
 * ts_rank_cd alone knows nothing of how rare a word is: "fastify" asked of the Fastify docs outranked
 * "http2", and the right page fell out of the candidates retrieval scores (recall@5 0.68 against LanceDB's
 * 0.96). So each matched lexeme counts by its BM25 idf, from its document frequency (a GIN index count per
 * lexeme of the question) and the table's row estimate (pg_class.reltuples, kept by ANALYZE: counting the
 * rows would scan the table on every search), with ts_rank_cd (frequency and proximity) as the lesser
 * part. Before the first ANALYZE the estimate is unknown, every idf is alike and ts_rank_cd decides.
 * `weights` is MATERIALIZED: inlined into the per-row sum, PostgreSQL recounted every lexeme for every
 * matching row (34x main's statement on 2,682 chunks). Materialised, it costs ~1.5-2x main's: p50 288 ->
 * 553 ms on 8,940 chunks of the Fastify docs in PGlite (WASM, in process, loaded machine), 10 questions.
 */
export function keywordSearchStatement(
  schemaName: string,
  query: string,
  options: SearchOptions,
): QueryConfig {
  const { documents, chunks } = tables(schemaName)
  const values: unknown[] = [query, options.topK, chunks]
  const text = `WITH terms AS (
      SELECT DISTINCT plainto_tsquery('simple', lexeme) AS term
      FROM unnest(tsvector_to_array(to_tsvector('${TEXT_SEARCH_CONFIG}', $1))) AS lexeme
    ), total AS (SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = to_regclass($3)),
    weights AS MATERIALIZED (
      SELECT t.term, ln(1 + (greatest(total.n, f.n) - f.n + 0.5) / (f.n + 0.5)) AS idf
      FROM terms t, total, LATERAL (SELECT count(*)::float8 AS n FROM ${chunks} x WHERE x.tsv @@ t.term) f
    )
    SELECT ${HIT_FIELDS},
      coalesce((SELECT sum(w.idf) FROM weights w WHERE c.tsv @@ w.term), 0) + ts_rank_cd(c.tsv, q) AS score
    FROM ${chunks} c JOIN ${documents} d ON d.id = c.document_id,
      to_tsquery('simple', replace(plainto_tsquery('${TEXT_SEARCH_CONFIG}', $1)::text, ' & ', ' | ')) q
    WHERE c.tsv @@ q${filterClause(values, options.filter)}
    ORDER BY score DESC, c.id LIMIT $2`
  return { text, values }
}

/** Reclaims the rows that replaced and deleted documents left behind, in the tables and the indexes. */
export function vacuumStatement(schemaName: string): string {
  const { documents, chunks } = tables(schemaName)
  return `VACUUM (ANALYZE) ${documents}, ${chunks}`
}
