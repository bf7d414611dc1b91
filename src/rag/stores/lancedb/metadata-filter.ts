import type { Metadata, MetadataValue } from '../../types.js'

// LanceDB filters are SQL text: this file builds every piece of it that holds a caller's value.

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex')

/** One metadata pair as `|<hex key>=<type><hex value>|`, type-tagged so 2023 never matches "2023". */
export function metadataTerm(key: string, value: MetadataValue): string {
  const type = typeof value === 'number' ? 'n' : typeof value === 'boolean' ? 'b' : 's'
  return `|${hex(key)}=${type}${hex(String(value))}|`
}

/** A document's metadata as the `metadata_terms` column: its terms, one after the other. */
export function metadataTerms(metadata: Metadata): string {
  return Object.entries(metadata)
    .map(([key, value]) => metadataTerm(key, value))
    .join('')
}

/** The WHERE clause keeping chunks whose document has every pair of `filter`; undefined for none. */
export function metadataFilterClause(filter: Metadata | undefined): string | undefined {
  const entries = Object.entries(filter ?? {})
  if (entries.length === 0) return undefined
  // Terms hold only [0-9a-f|=nbs]: no LIKE wildcard or quote can appear in them.
  return entries.map(([key, value]) => `metadata_terms LIKE '%${metadataTerm(key, value)}%'`).join(' AND ')
}

/** A string literal for LanceDB's SQL filters. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}
