import { describe, expect, it } from 'vitest'
import {
  insertChunksStatements,
  keywordSearchStatement,
  vectorSearchStatement,
} from '../../../../src/rag/stores/postgres/statements.js'
import { makeDocument } from '../store-contract.js'

const texts = (count: number) => Array.from({ length: count }, (_, index) => `Chunk ${index}.`)

describe('PostgreSQL statements', () => {
  it("inserts a batch's chunks 500 to a statement, across documents, each with its document's id", () => {
    const long = makeDocument('long', texts(700)).chunks
    const short = makeDocument('short', texts(301)).chunks
    const statements = [...insertChunksStatements('public', [...long, ...short], 0)]
    const ids = statements.map((statement) => statement.values?.[0] as string[])
    expect(ids.map((batch) => batch.length)).toEqual([500, 500, 1])
    expect(ids[2]).toEqual(['short:300'])
    const documentIds = statements[1]?.values?.[1] as string[]
    expect([documentIds[199], documentIds[200]]).toEqual(['long', 'short'])
  })

  it('leaves the embedding out of a keyword-only store, and sends null for a chunk without a vector', () => {
    const { chunks } = makeDocument('short', texts(2))
    const [keywordOnly] = [...insertChunksStatements('public', chunks, 0)]
    expect(keywordOnly?.text).not.toContain('embedding')
    expect(keywordOnly?.values).toHaveLength(6)
    const withVector = [{ ...chunks[0], vector: Float32Array.of(1, 0) }, chunks[1]] as typeof chunks
    const [embedded] = [...insertChunksStatements('public', withVector, 2)]
    expect(embedded?.text).toContain('embedding')
    expect(embedded?.values?.[6]).toEqual(['[1,0]', null])
  })

  it('quotes the schema name', () => {
    const statement = keywordSearchStatement('my "schema"', 'bread', { topK: 5 })
    expect(statement.text).toContain('"my ""schema""".rag_chunks')
  })

  it('passes a metadata filter as one jsonb parameter', () => {
    const statement = vectorSearchStatement('public', 2, Float32Array.of(1, 0), {
      topK: 5,
      filter: { topic: 'baking', year: 2023 },
    })
    expect(statement.text).toContain('d.metadata @> $3::jsonb')
    expect(statement.values?.[2]).toBe('{"topic":"baking","year":2023}')
  })

  it('adds no filter condition for an empty filter', () => {
    const statement = keywordSearchStatement('public', 'bread', { topK: 5, filter: {} })
    expect(statement.text).not.toContain('@>')
    expect(statement.values).toEqual(['bread', 5, '"public".rag_chunks'])
  })

  it("weighs keyword matches by idf, from the row estimate of the schema's own chunk table", () => {
    const statement = keywordSearchStatement('my "schema"', 'bread', { topK: 5, filter: { topic: 'baking' } })
    expect(statement.text).toContain('to_regclass($3)')
    expect(statement.values?.[2]).toBe('"my ""schema""".rag_chunks')
    expect(statement.text).toContain('d.metadata @> $4::jsonb')
  })
})
