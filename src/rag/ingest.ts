import { basename } from 'node:path'
import type { CallOptions } from '../providers/provider.js'
import { ChunkPool } from './chunk-pool.js'
import type { ChunkingOptions, TextChunk } from './chunker.js'
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

/** Chunks a text off the main thread (ChunkPool), for chunkAhead(). */
export type Chunker = (text: string, options: ChunkingOptions) => Promise<TextChunk[]>

/** Puts documents into the store: chunk, embed through the cache, replace atomically. */
export class Ingestor {
  /** Chunks made by chunkAhead(), taken (and forgotten) by the ingestion of the same input object. */
  readonly #ahead = new WeakMap<DocumentInput, TextChunk[]>()
  /** Started by the first chunkAhead() without a `chunker`: a server that never bulk-loads starts no thread. */
  #pool: ChunkPool | undefined

  constructor(
    private readonly store: DocumentStore,
    private readonly embeddings: EmbeddingCache | undefined,
    private readonly chunking: ChunkingOptions,
    /** Where chunkAhead() chunks; by default worker threads (ChunkPool). */
    private readonly chunker?: Chunker,
  ) {}

  /** Stops the chunking threads, if any. */
  async close(): Promise<void> {
    await this.#pool?.close()
    this.#pool = undefined
  }

  /**
   * Chunks documents before their ingestion, so that a caller writing batch after batch (ingestFiles)
   * chunks the next batch while the store writes this one. Only what ingestion would chunk: documents the
   * store holds unchanged are skipped. Chunks depend on the text alone, so a store changed meanwhile
   * changes nothing: ingest() still decides, inside its write, what to write. Never rejects: a document
   * that fails to chunk is chunked again by ingest(), which reports the error as it always did.
   */
  async chunkAhead(inputs: DocumentInput[]): Promise<void> {
    try {
      const ids = inputs.map((input) => input.id ?? derivedId(input))
      const existing = new Map((await this.store.getMany(ids)).map((document) => [document.id, document]))
      await Promise.all(
        inputs.map(async (input, index) => {
          const id = ids[index] as string
          if (this.#ahead.has(input) || describe(input, id, existing.get(id)).unchanged) return
          this.#ahead.set(input, await this.#chunkOffThread(input.text))
        }),
      )
    } catch {
      // Left to ingest(), which chunks what is missing and reports what fails.
    }
  }

  async ingest(input: DocumentInput, options: CallOptions): Promise<IngestResult> {
    const [result] = await this.ingestMany([input], options)
    return result as IngestResult
  }

  /**
   * Ingests a batch: unchanged documents are skipped, the changed ones' chunks are embedded in one cached
   * call (batched upstream) and written with one store call.
   */
  async ingestMany(inputs: DocumentInput[], options: CallOptions): Promise<IngestResult[]> {
    const ids = inputs.map((input) => input.id ?? derivedId(input))
    // A batch that names one id more than once is applied in order, as writes one after the other would
    // be: round k holds each id's k-th occurrence, so the last one stays. Without repeats, one round.
    const rounds: number[][] = []
    const seen = new Map<string, number>()
    for (const [index, id] of ids.entries()) {
      const round = seen.get(id) ?? 0
      seen.set(id, round + 1)
      if (round === rounds.length) rounds.push([])
      rounds[round]?.push(index)
    }
    const results: IngestResult[] = []
    for (const round of rounds) {
      const outcomes = await this.#ingestDistinct(
        round.map((index) => inputs[index] as DocumentInput),
        round.map((index) => ids[index] as string),
        options,
      )
      for (const [position, index] of round.entries()) results[index] = outcomes[position] as IngestResult
    }
    return results
  }

  #chunkOffThread(text: string): Promise<TextChunk[]> {
    if (this.chunker) return this.chunker(text, this.chunking)
    this.#pool ??= new ChunkPool()
    return this.#pool.chunk(text, this.chunking)
  }

  /** A batch of distinct ids: one read of the existing documents, one embedding call, one store write. */
  async #ingestDistinct(
    inputs: DocumentInput[],
    ids: string[],
    options: CallOptions,
  ): Promise<IngestResult[]> {
    const existing = new Map((await this.store.getMany(ids)).map((document) => [document.id, document]))
    // Not loaded (nor its tokenizer tables) in a process whose documents were all chunked ahead.
    const { chunkText } = inputs.every((input) => this.#ahead.has(input))
      ? { chunkText: notLoaded }
      : await loadChunker()
    const prepared = inputs.map((input, index) =>
      this.#prepare(input, ids[index] as string, existing.get(ids[index] as string), chunkText),
    )
    const changed = prepared.filter((entry) => entry.result === undefined)
    const texts = changed.flatMap((entry) => entry.pieces.map((piece) => piece.text))
    const report =
      this.embeddings && texts.length > 0 ? await this.embeddings.embed(texts, options) : undefined
    let offset = 0
    const now = new Date().toISOString()
    const entries = changed.map((entry) => {
      const chunks: StoredChunk[] = entry.pieces.map((piece, index) => ({
        id: `${entry.id}:${index}`,
        documentId: entry.id,
        index,
        text: piece.text,
        textHash: piece.hash,
        tokenCount: piece.tokenCount,
        ...(report ? { vector: report.vectors[offset + index] } : {}),
      }))
      offset += entry.pieces.length
      const document: StoredDocument = {
        id: entry.id,
        title: entry.title,
        source: entry.source,
        metadata: entry.metadata,
        textHash: entry.hash,
        chunkCount: chunks.length,
        createdAt: entry.existing?.createdAt ?? now,
        updatedAt: now,
      }
      return { document, chunks }
    })
    if (entries.length > 0) await this.store.upsertMany(entries)
    // Each text sent to the model counts as embedded for the first document that has it.
    const sent = new Set(report?.embeddedHashes)
    return prepared.map((entry) => {
      if (entry.result) return entry.result
      const embedded = entry.pieces.filter((piece) => sent.delete(piece.hash)).length
      return {
        id: entry.id,
        status: entry.existing ? 'updated' : 'created',
        chunks: entry.pieces.length,
        embedded: report ? embedded : 0,
        fromCache: report ? entry.pieces.length - embedded : 0,
      }
    })
  }

  #prepare(
    input: DocumentInput,
    id: string,
    existing: StoredDocument | undefined,
    chunkText: typeof import('./chunker.js').chunkText,
  ) {
    const described = describe(input, id, existing)
    const result: IngestResult | undefined =
      described.unchanged && existing
        ? { id, status: 'unchanged', chunks: existing.chunkCount, embedded: 0, fromCache: 0 }
        : undefined
    const chunked = this.#ahead.get(input)
    this.#ahead.delete(input)
    const pieces = result
      ? []
      : (chunked ?? chunkText(input.text, this.chunking)).map((piece) => ({
          ...piece,
          hash: textHash(piece.text),
        }))
    return { ...described, result, pieces }
  }
}

/** What a document will be stored as, and whether the store already holds exactly that. */
function describe(input: DocumentInput, id: string, existing: StoredDocument | undefined) {
  const source = input.source ?? ''
  const title = input.title ?? titleOf(input.text, source)
  const metadata = input.metadata ?? {}
  const hash = textHash(input.text)
  const unchanged =
    existing !== undefined &&
    existing.textHash === hash &&
    existing.title === title &&
    existing.source === source &&
    sameMetadata(existing.metadata, metadata)
  return { id, source, title, metadata, hash, existing, unchanged }
}

/** Without an id, the same source (else the same text) maps to the same document, so re-sending replaces. */
/**
 * The chunker counts tokens with gpt-tokenizer, whose o200k tables take ~34 MiB of heap: loaded on the
 * first ingest, not at boot, so a server that only relays chat keeps a small heap and short GC pauses
 * (event-loop delay with 2,000 open streams, BENCHMARKS.md).
 */
const loadChunker = () => import('./chunker.js')

const notLoaded: typeof import('./chunker.js').chunkText = () => {
  throw new Error('chunker used without loading it')
}

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
