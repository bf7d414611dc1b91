/**
 * A chunking thread of ChunkPool (./chunk-pool.ts): chunks the texts it is sent, one at a time, and
 * answers each with its chunks or the chunker's error message.
 */
import { parentPort } from 'node:worker_threads'
import { type ChunkingOptions, chunkText } from './chunker.js'

export interface ChunkRequest {
  id: number
  text: string
  options: ChunkingOptions
}

parentPort?.on('message', ({ id, text, options }: ChunkRequest) => {
  try {
    parentPort?.postMessage({ id, chunks: chunkText(text, options) })
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) })
  }
})
