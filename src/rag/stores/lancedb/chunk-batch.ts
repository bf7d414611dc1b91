import { createRequire } from 'node:module'
import type { Data, Table } from 'apache-arrow'
import type { StoredChunk, StoredDocument } from '../../types.js'
import { metadataTerms } from './metadata-filter.js'
import { chunkSchema } from './rows.js'

// The same CommonJS copy of Arrow that LanceDB checks its types against (see rows.ts).
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow')

/**
 * A batch of chunk rows as one Arrow table, built column by column: strings into one UTF-8 buffer each,
 * vectors copied once into one Float32Array. This is the one place ingestion's speed costs plainness:
 * handing LanceDB row objects made it build the table value by value through Arrow's builders, ~0.15 ms
 * per 1536-d chunk, a fifth of ingestion's JavaScript (V8 profile of `npm run bench:rag-ingest`). The
 * columns are those of chunkRow() and chunkSchema() (rows.ts); a test reads a batch back through both.
 * Refuses a chunk without a vector of the store's width (`dimensions` > 0).
 */
export function chunkBatch(
  entries: { document: StoredDocument; chunks: StoredChunk[] }[],
  dimensions: number,
): Table {
  const schema = chunkSchema(dimensions)
  const rows = entries.flatMap(({ document, chunks }) => chunks.map((chunk) => ({ document, chunk })))
  // Per document, not per chunk: every chunk repeats its document's metadata.
  const metadata = new Map(
    entries.map(({ document }) => [
      document,
      { json: JSON.stringify(document.metadata), terms: metadataTerms(document.metadata) },
    ]),
  )
  const text = (value: (row: (typeof rows)[number]) => string) => utf8(rows.map(value))
  const columns: Record<string, Data> = {
    id: text(({ chunk }) => chunk.id),
    document_id: text(({ document }) => document.id),
    idx: int32(rows.map(({ chunk }) => chunk.index)),
    text: text(({ chunk }) => chunk.text),
    text_hash: text(({ chunk }) => chunk.textHash),
    token_count: int32(rows.map(({ chunk }) => chunk.tokenCount)),
    title: text(({ document }) => document.title),
    source: text(({ document }) => document.source),
    metadata: text(({ document }) => metadata.get(document)?.json as string),
    metadata_terms: text(({ document }) => metadata.get(document)?.terms as string),
  }
  if (dimensions > 0) {
    const values = new Float32Array(rows.length * dimensions)
    for (const [index, { chunk }] of rows.entries()) {
      if (chunk.vector?.length !== dimensions) {
        throw new Error(`chunk ${chunk.id} has no ${dimensions}-dimensional vector`)
      }
      values.set(chunk.vector, index * dimensions)
    }
    const type = schema.fields.find((field) => field.name === 'vector')?.type
    const child = arrow.makeData({
      type: new arrow.Float32(),
      length: values.length,
      nullCount: 0,
      data: values,
    })
    columns.vector = arrow.makeData({ type, length: rows.length, nullCount: 0, child } as never)
  }
  const children = schema.fields.map((field) => columns[field.name] as Data)
  const struct = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  })
  return new arrow.Table([new arrow.RecordBatch(schema, struct)])
}

function utf8(values: string[]): Data {
  const offsets = new Int32Array(values.length + 1)
  let bytes = 0
  for (const [index, value] of values.entries()) {
    bytes += Buffer.byteLength(value)
    offsets[index + 1] = bytes
  }
  const data = Buffer.allocUnsafe(bytes)
  for (const [index, value] of values.entries()) data.write(value, offsets[index] as number)
  return arrow.makeData({
    type: new arrow.Utf8(),
    length: values.length,
    nullCount: 0,
    valueOffsets: offsets,
    data,
  })
}

function int32(values: number[]): Data {
  return arrow.makeData({
    type: new arrow.Int32(),
    length: values.length,
    nullCount: 0,
    data: Int32Array.from(values),
  })
}
