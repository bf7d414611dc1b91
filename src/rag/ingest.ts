import { basename } from 'node:path'
import type { CallOptions } from '../providers/provider.js'
import { type ChunkingOptions, chunkText } from './chunker.js'
import { type EmbeddingCache, textHash } from './embedding-cache.js'
import type { DocumentStore, Metadata, StoredChunk, StoredDocument } from './types.js'

export interface DocumentInput {
  id?: string
  title?: string
  text: string
  source?: string
  metadata?: Metadata
}

export interface IngestResult {
  id: string
  /** `unchanged` when the same document was sent again: nothing was rewritten. */
  status: 'created' | 'updated' | 'unchanged'
  chunks: number
  /** Chunks sent to the embedding model. */
  embedded: number
  /** Chunks whose vectors came from the cache (memory or the store). */
  fromCache: number
}

/** Puts documents into the store: chunk, embed through the cache, replace atomically. */
export class Ingestor {
  constructor(
    private readonly store: DocumentStore,
    private readonly embeddings: EmbeddingCache | undefined,
    private readonly chunking: ChunkingOptions,
  ) {}

  async ingest(input: DocumentInput, options: CallOptions): Promise<IngestResult> {
    const id = input.id ?? derivedId(input)
    const source = input.source ?? ''
    const title = input.title ?? titleOf(input.text, source)
    const metadata = input.metadata ?? {}
    const hash = textHash(input.text)
    const existing = await this.store.get(id)
    if (
      existing &&
      existing.textHash === hash &&
      existing.title === title &&
      existing.source === source &&
      sameMetadata(existing.metadata, metadata)
    ) {
      return { id, status: 'unchanged', chunks: existing.chunkCount, embedded: 0, fromCache: 0 }
    }
    const pieces = chunkText(input.text, this.chunking)
    const report = this.embeddings
      ? await this.embeddings.embed(
          pieces.map((piece) => piece.text),
          options,
        )
      : undefined
    const chunks: StoredChunk[] = pieces.map((piece, index) => ({
      id: `${id}:${index}`,
      documentId: id,
      index,
      text: piece.text,
      textHash: textHash(piece.text),
      tokenCount: piece.tokenCount,
      ...(report ? { vector: report.vectors[index] } : {}),
    }))
    const now = new Date().toISOString()
    const document: StoredDocument = {
      id,
      title,
      source,
      metadata,
      textHash: hash,
      chunkCount: chunks.length,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    }
    await this.store.upsert(document, chunks)
    return {
      id,
      status: existing ? 'updated' : 'created',
      chunks: chunks.length,
      embedded: report?.embedded ?? 0,
      fromCache: report?.fromCache ?? 0,
    }
  }
}

/** Without an id, the same source (else the same text) maps to the same document, so re-sending replaces. */
export function derivedId(input: Pick<DocumentInput, 'source' | 'text'>): string {
  return `doc_${textHash(input.source ? `source:${input.source}` : `text:${input.text}`).slice(0, 24)}`
}

/** The first Markdown heading, else the file name, else the opening words. */
function titleOf(text: string, source: string): string {
  const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1]
  if (heading) return heading
  if (source) return basename(source).replace(/\.[^.]+$/, '')
  const opening = text.trim().split(/\s+/).slice(0, 10).join(' ')
  return opening.length > 80 ? `${opening.slice(0, 79)}…` : opening
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key])
}
