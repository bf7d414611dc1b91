import { describe, expect, it } from 'vitest'
import {
  metadataFilterClause,
  metadataTerm,
  metadataTerms,
  sqlString,
} from '../../../../src/rag/stores/lancedb/metadata-filter.js'

describe('metadataTerm', () => {
  it('spells the key and the value in UTF-8 hex, the value tagged with its type', () => {
    // 'topic' and 'baking' in hex; 's' for a string.
    expect(metadataTerm('topic', 'baking')).toBe('|746f706963=s62616b696e67|')
  })

  it('tells a number, a boolean and a string of the same text apart', () => {
    expect(metadataTerm('year', 2023)).toBe('|79656172=n32303233|')
    expect(metadataTerm('year', '2023')).toBe('|79656172=s32303233|')
    expect(metadataTerm('draft', true)).toBe('|6472616674=b74727565|')
    expect(metadataTerm('draft', 'true')).toBe('|6472616674=s74727565|')
  })

  it('encodes keys and values beyond ASCII as their UTF-8 bytes', () => {
    expect(metadataTerm('é', '日')).toBe('|c3a9=se697a5|')
  })
})

describe('metadataTerms', () => {
  it("joins every pair's term, and is empty for no metadata", () => {
    expect(metadataTerms({ a: 'x', b: 1 })).toBe(`${metadataTerm('a', 'x')}${metadataTerm('b', 1)}`)
    expect(metadataTerms({})).toBe('')
  })
})

describe('metadataFilterClause', () => {
  it('is undefined without a filter or with an empty one', () => {
    expect(metadataFilterClause(undefined)).toBeUndefined()
    expect(metadataFilterClause({})).toBeUndefined()
  })

  it('asks for every pair of the filter', () => {
    expect(metadataFilterClause({ topic: 'baking', year: 2023 })).toBe(
      `metadata_terms LIKE '%${metadataTerm('topic', 'baking')}%' AND ` +
        `metadata_terms LIKE '%${metadataTerm('year', 2023)}%'`,
    )
  })

  it('keeps quotes and LIKE wildcards of keys and values out of the SQL', () => {
    const clause = metadataFilterClause({ "it's": "100%_'; DROP TABLE chunks; --" })
    expect(clause).toMatch(/^metadata_terms LIKE '%\|[0-9a-f]+=s[0-9a-f]+\|%'$/)
  })
})

describe('sqlString', () => {
  it('quotes a value, doubling its single quotes', () => {
    expect(sqlString("O'Brien")).toBe("'O''Brien'")
    expect(sqlString('')).toBe("''")
  })
})
