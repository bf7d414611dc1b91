import { afterEach, describe, expect, it } from 'vitest'
import { ChunkPool } from '../../src/rag/chunk-pool.js'
import { chunkText } from '../../src/rag/chunker.js'

const options = { maxTokens: 40, overlapTokens: 10 }
const textOf = (topic: number) =>
  `# Topic ${topic}\n\n${Array.from({ length: 20 }, (_, index) => `Sentence ${index} is about topic ${topic}.`).join(' ')}`

describe('ChunkPool', () => {
  const pools: ChunkPool[] = []
  const poolOf = (size: number) => {
    const pool = new ChunkPool(size)
    pools.push(pool)
    return pool
  }
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close()
  })

  it('chunks texts sent at once, more than it has threads, exactly as chunkText does', async () => {
    const pool = poolOf(2)
    const texts = Array.from({ length: 5 }, (_, index) => textOf(index))
    const chunks = await Promise.all(texts.map((text) => pool.chunk(text, options)))
    expect(chunks).toEqual(texts.map((text) => chunkText(text, options)))
  })

  it("fails a text the chunker refuses with the chunker's own message, and goes on chunking", async () => {
    const pool = poolOf(1)
    const special = 'A text with <|endoftext|> inside.'
    const message = (() => {
      try {
        chunkText(special, options)
      } catch (error) {
        return (error as Error).message
      }
    })()
    expect(message).toMatch(/special token/)
    await expect(pool.chunk(special, options)).rejects.toThrow(message as string)
    await expect(pool.chunk(textOf(1), options)).resolves.toEqual(chunkText(textOf(1), options))
  })

  it('starts all its threads on warm(), before any text, and chunking then starts no more', async () => {
    const pool = poolOf(2)
    expect(pool.threads).toBe(0)
    pool.warm()
    expect(pool.threads).toBe(2)
    const texts = Array.from({ length: 4 }, (_, index) => textOf(index))
    const chunks = await Promise.all(texts.map((text) => pool.chunk(text, options)))
    expect(chunks).toEqual(texts.map((text) => chunkText(text, options)))
    expect(pool.threads).toBe(2)
  })

  it('fails the texts still queued when closed, and refuses new ones', async () => {
    const pool = poolOf(1)
    const first = expect(pool.chunk(textOf(1), options)).rejects.toThrow()
    const queued = expect(pool.chunk(textOf(2), options)).rejects.toThrow('ChunkPool closed')
    await pool.close()
    await Promise.all([first, queued])
    await expect(pool.chunk(textOf(3), options)).rejects.toThrow('ChunkPool used after close()')
  })
})
