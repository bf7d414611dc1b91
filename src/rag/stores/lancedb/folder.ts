import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as lancedb from '@lancedb/lancedb'
import type { EmbeddingSpace } from '../../../providers/embeddings.js'
import { EmbeddingMismatchError } from '../../types.js'
import { chunkSchema, documentSchema } from './rows.js'

/** The store's two tables. */
export interface Tables {
  documents: lancedb.Table
  chunks: lancedb.Table
}

/** Records the embedding space the folder was built with: vectors of another space would not compare. */
const STORE_FILE = 'store.json'

/**
 * Opens the store's folder, creating it and its tables when new; rejects with EmbeddingMismatchError when
 * the folder was built with another embedding space than `space`. Reads see what another process wrote
 * at most `readConsistencyMs` late: by default LanceDB never looks again, and a server did not see a
 * document the CLI had added ten seconds before.
 */
export async function openFolder(
  directory: string,
  space: EmbeddingSpace,
  { readConsistencyMs }: { readConsistencyMs: number },
): Promise<{ connection: lancedb.Connection; tables: Tables }> {
  await mkdir(directory, { recursive: true })
  const recorded = await readStoreFile(join(directory, STORE_FILE))
  if (recorded && (recorded.model !== space.model || recorded.dimensions !== space.dimensions)) {
    throw new EmbeddingMismatchError(recorded, space)
  }
  const connection = await lancedb.connect(directory, { readConsistencyInterval: readConsistencyMs / 1000 })
  const names = await connection.tableNames()
  const documents = names.includes('documents')
    ? await connection.openTable('documents')
    : await connection.createEmptyTable('documents', documentSchema(), { existOk: true })
  const chunks = names.includes('chunks')
    ? await connection.openTable('chunks')
    : await connection.createEmptyTable('chunks', chunkSchema(space.dimensions), { existOk: true })
  if (!recorded)
    await writeFile(join(directory, STORE_FILE), `${JSON.stringify({ ...space, version: 1 }, null, 2)}\n`)
  return { connection, tables: { documents, chunks } }
}

async function readStoreFile(path: string): Promise<EmbeddingSpace | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as EmbeddingSpace
    return { model: parsed.model, dimensions: parsed.dimensions }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
