/**
 * The cold-open half of bench/rag.ts, run in a fresh process so nothing this process loaded or cached
 * helps (the OS page cache still does): import the store, open an existing folder, run first queries.
 * Argument: JSON `{ directory, space, vector, keywords, lanceCpuThreads }`; prints one JSON line of
 * timings in ms.
 */
import { loadLanceStore } from '../src/rag/stores/lancedb/load.js'

const input = JSON.parse(process.argv[2] ?? '{}') as {
  directory: string
  space: { model: string; dimensions: number }
  vector: number[]
  keywords: string
  /** The parent's configured value: parsing the configuration here would time Zod's import too. */
  lanceCpuThreads: number
}

const started = performance.now()
const { LanceStore } = await loadLanceStore({ LANCE_CPU_THREADS: input.lanceCpuThreads })
const imported = performance.now()
const rssAfterImport = process.memoryUsage().rss

const store = new LanceStore({ directory: input.directory, maintenanceDelayMs: 0 })
const vector = Float32Array.from(input.vector)

const timed = async (work: () => Promise<unknown>) => {
  const start = performance.now()
  await work()
  return performance.now() - start
}
const openMs = await timed(() => store.open(input.space))
const rssAfterOpen = process.memoryUsage().rss
const firstVectorMs = await timed(() => store.searchVector(vector, { topK: 5 }))
const firstKeywordMs = await timed(() => store.searchKeyword(input.keywords, { topK: 5 }))
const secondVectorMs = await timed(() => store.searchVector(vector, { topK: 5 }))
await store.close()

console.log(
  JSON.stringify({
    importMs: imported - started,
    openMs,
    firstVectorMs,
    firstKeywordMs,
    secondVectorMs,
    rssAfterImport,
    rssAfterOpen,
    rssAfterQueries: process.memoryUsage().rss,
  }),
)
