import { createRequire } from 'node:module'
import type { Metadata, SearchHit, StoredChunk, StoredDocument } from '../../types.js'

// LanceDB is CommonJS and checks Arrow types with instanceof: an ESM `import 'apache-arrow'` loads a
// second copy whose schemas it does not recognise (inserts then silently wrote 0 rows). Load the same
// CommonJS copy it uses.
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow')

/** The chunk columns a read selects: everything but the vector and the filter terms. */
export const CHUNK_COLUMNS = [
  'id',
  'document_id',
  'idx',
  'text',
  'text_hash',
  'token_count',
  'title',
  'source',
  'metadata',
]

// biome-ignore lint/suspicious/noExplicitAny: Arrow rows are untyped records
type Row = Record<string, any>

const text = (name: string) => new arrow.Field(name, new arrow.Utf8(), false)

export function documentSchema() {
  return new arrow.Schema([
    text('id'),
    text('title'),
    text('source'),
    text('metadata'),
    text('text_hash'),
    new arrow.Field('chunk_count', new arrow.Int32(), false),
    text('created_at'),
    text('updated_at'),
  ])
}

/**
 * Chunks repeat their document's title, source and metadata, so a search needs no join. `metadata_terms`
 * is `|<hex key>=<type><hex value>|...`: exact metadata matching with LIKE, no escaping to get wrong.
 * Rows are written as Arrow batches by chunkBatch() (./chunk-batch.ts).
 */
export function chunkSchema(dimensions: number) {
  const fields: import('apache-arrow').Field[] = [
    text('id'),
    text('document_id'),
    new arrow.Field('idx', new arrow.Int32(), false),
    text('text'),
    text('text_hash'),
    new arrow.Field('token_count', new arrow.Int32(), false),
    text('title'),
    text('source'),
    text('metadata'),
    text('metadata_terms'),
  ]
  if (dimensions > 0) {
    const item = new arrow.Field('item', new arrow.Float32(), true)
    fields.push(new arrow.Field('vector', new arrow.FixedSizeList(dimensions, item), true))
  }
  return new arrow.Schema(fields)
}

export function documentRow(document: StoredDocument) {
  return {
    id: document.id,
    title: document.title,
    source: document.source,
    metadata: JSON.stringify(document.metadata),
    text_hash: document.textHash,
    chunk_count: document.chunkCount,
    created_at: document.createdAt,
    updated_at: document.updatedAt,
  }
}

export function fromDocumentRow(row: Row): StoredDocument {
  return {
    id: String(row.id),
    title: String(row.title),
    source: String(row.source),
    metadata: JSON.parse(String(row.metadata)) as Metadata,
    textHash: String(row.text_hash),
    chunkCount: Number(row.chunk_count),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  }
}

export function fromChunkRow(row: Row): Omit<StoredChunk, 'vector'> {
  return {
    id: String(row.id),
    documentId: String(row.document_id),
    index: Number(row.idx),
    text: String(row.text),
    textHash: String(row.text_hash),
    tokenCount: Number(row.token_count),
  }
}

/** A search result row (chunk columns and a score) as a hit. */
export function toHit(row: Row, score: number): SearchHit {
  return {
    chunk: fromChunkRow(row),
    document: {
      id: String(row.document_id),
      title: String(row.title),
      source: String(row.source),
      metadata: JSON.parse(String(row.metadata)) as Metadata,
    },
    score,
  }
}
