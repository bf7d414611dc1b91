import { describe, expect, it } from 'vitest'
import { metadataTerms } from '../../../../src/rag/stores/lancedb/metadata-filter.js'
import {
  chunkRow,
  chunkSchema,
  documentRow,
  fromChunkRow,
  fromDocumentRow,
} from '../../../../src/rag/stores/lancedb/rows.js'
import { makeDocument } from '../store-contract.js'

const { document, chunks } = makeDocument('bread', ['Sourdough rises.'], {
  metadata: { topic: 'baking', year: 2023 },
})
const [chunk] = chunks as [(typeof chunks)[number]]

describe('LanceDB rows', () => {
  it('reads a document back from its row unchanged', () => {
    expect(fromDocumentRow(documentRow(document))).toEqual(document)
  })

  it("gives a chunk's row its document's title, source, metadata and filter terms", () => {
    const row = chunkRow(document, chunk, 0)
    expect(row).toMatchObject({
      document_id: 'bread',
      title: document.title,
      source: document.source,
      metadata: JSON.stringify(document.metadata),
      metadata_terms: metadataTerms(document.metadata),
    })
    expect(row).not.toHaveProperty('vector')
    expect(fromChunkRow(row)).toEqual(chunk)
  })

  it("refuses a chunk whose vector is missing or not the store's width", () => {
    expect(() => chunkRow(document, chunk, 4)).toThrow('chunk bread:0 has no 4-dimensional vector')
    expect(() => chunkRow(document, { ...chunk, vector: new Float32Array(3) }, 4)).toThrow(
      'chunk bread:0 has no 4-dimensional vector',
    )
    expect(chunkRow(document, { ...chunk, vector: new Float32Array(4) }, 4).vector).toHaveLength(4)
  })

  it('has a vector column only in a store with embeddings', () => {
    const names = (dimensions: number) => chunkSchema(dimensions).fields.map((field) => field.name)
    expect(names(0)).not.toContain('vector')
    expect(names(8)).toContain('vector')
  })
})
