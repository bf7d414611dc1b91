import type { DocumentStore } from '../../src/rag/types.js'

/** A document store holding nothing; `overrides` replace any of its methods (e.g. one that never answers). */
export function emptyDocumentStore(overrides: Partial<DocumentStore> = {}): DocumentStore {
  return {
    open: async () => {},
    upsert: async () => {},
    upsertMany: async () => {},
    get: async () => undefined,
    getMany: async () => [],
    chunks: async () => [],
    list: async () => ({ items: [], total: 0 }),
    delete: async () => false,
    vectorsByHash: async () => new Map(),
    searchVector: async () => [],
    searchKeyword: async () => [],
    ping: async () => {},
    optimize: async () => {},
    indexForSearch: async () => {},
    close: async () => {},
    ...overrides,
  }
}
