import { describe, expect, it } from 'vitest'
import { chunkBatch } from '../../../../src/rag/stores/lancedb/chunk-batch.js'
import { metadataTerms } from '../../../../src/rag/stores/lancedb/metadata-filter.js'
import {
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

  it("gives each chunk's row its document's title, source, metadata and filter terms", () => {
    const other = makeDocument('café', ['Crème.', 'Brûlée, in UTF-8: ✓'], { metadata: { topic: 'dessert' } })
    const rows = chunkBatch([{ document, chunks }, other], 0).toArray()
    expect(rows.map(fromChunkRow)).toEqual([chunk, ...other.chunks])
    expect(rows.map((row) => ({ ...row }))).toEqual(
      [
        { document, chunk },
        ...other.chunks.map((otherChunk) => ({ document: other.document, chunk: otherChunk })),
      ].map(({ document: owner, chunk: { id, index, text, textHash, tokenCount } }) => ({
        id,
        document_id: owner.id,
        idx: index,
        text,
        text_hash: textHash,
        token_count: tokenCount,
        title: owner.title,
        source: owner.source,
        metadata: JSON.stringify(owner.metadata),
        metadata_terms: metadataTerms(owner.metadata),
      })),
    )
  })

  it('writes each vector into its own row of the vector column', () => {
    const vectors = [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 0.5, 0.25, -1])]
    const two = makeDocument('two', ['One.', 'Two.'])
    const withVectors = two.chunks.map((each, index) => ({ ...each, vector: vectors[index] }))
    const rows = chunkBatch([{ document: two.document, chunks: withVectors }], 4).toArray()
    expect(rows.map((row) => Array.from(row.vector.toArray()))).toEqual(
      vectors.map((vector) => Array.from(vector)),
    )
  })

  it("refuses a chunk whose vector is missing or not the store's width", () => {
    expect(() => chunkBatch([{ document, chunks }], 4)).toThrow('chunk bread:0 has no 4-dimensional vector')
    const short = { ...chunk, vector: new Float32Array(3) }
    expect(() => chunkBatch([{ document, chunks: [short] }], 4)).toThrow(
      'chunk bread:0 has no 4-dimensional vector',
    )
  })

  it('has a vector column only in a store with embeddings', () => {
    const names = (dimensions: number) => chunkSchema(dimensions).fields.map((field) => field.name)
    expect(names(0)).not.toContain('vector')
    expect(names(8)).toContain('vector')
  })
})
