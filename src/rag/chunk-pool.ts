import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { ChunkRequest } from './chunk-worker.js'
import type { ChunkingOptions, TextChunk } from './chunker.js'

type Reply = { id: number; chunks: TextChunk[] } | { id: number; error: string }

interface Task {
  request: ChunkRequest
  resolve: (chunks: TextChunk[]) => void
  reject: (error: Error) => void
}

/**
 * Chunks texts in worker threads, for bulk ingestion (Ingestor.chunkAhead): counting tokens is
 * CPU-bound JavaScript, so on a machine with cores to spare the chunking of the next batch runs beside
 * the store's writes instead of taking turns with them on the main thread. node:worker_threads, not a
 * pool library: none is installed, and one message per document needs no more than this. Threads start
 * on first use (each loads gpt-tokenizer's o200k tables, ~34 MiB), hold the process open only while
 * they work, and are replaced when one dies (its text fails with the thread's error).
 */
export class ChunkPool {
  readonly #size: number
  readonly #idle: Worker[] = []
  readonly #busy = new Map<Worker, Task>()
  readonly #queue: Task[] = []
  #nextId = 0
  #closed = false

  /** `size` threads; by default one fewer than the cores, at least one. */
  constructor(size = Math.max(1, availableParallelism() - 1)) {
    this.#size = size
  }

  chunk(text: string, options: ChunkingOptions): Promise<TextChunk[]> {
    if (this.#closed) return Promise.reject(new Error('ChunkPool used after close()'))
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, text, options }, resolve, reject })
      this.#dispatch()
    })
  }

  /** Threads started and alive, idle or busy. */
  get threads(): number {
    return this.#idle.length + this.#busy.size
  }

  /**
   * Starts the threads now, so that they load the tokenizer while the caller does something else (the
   * CLI: while it loads and builds the app) instead of when the first texts arrive. Idle, they do not
   * hold the process open.
   */
  warm(): void {
    while (!this.#closed && this.threads < this.#size) {
      const worker = this.#start()
      worker.unref()
      this.#idle.push(worker)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const task of this.#queue.splice(0)) task.reject(new Error('ChunkPool closed'))
    const workers = [...this.#idle.splice(0), ...this.#busy.keys()]
    await Promise.all(workers.map((worker) => worker.terminate()))
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#busy.size < this.#size ? this.#start() : undefined)
      if (!worker) return
      const task = this.#queue.shift() as Task
      this.#busy.set(worker, task)
      worker.ref()
      worker.postMessage(task.request)
    }
  }

  #start(): Worker {
    const worker = spawn()
    worker.on('message', (reply: Reply) => {
      const task = this.#busy.get(worker)
      this.#busy.delete(worker)
      worker.unref()
      this.#idle.push(worker)
      if (task) {
        if ('error' in reply) task.reject(new Error(reply.error))
        else task.resolve(reply.chunks)
      }
      this.#dispatch()
    })
    // A thread that dies fails its text and is forgotten; the next text starts another.
    const died = (error: Error) => {
      const task = this.#busy.get(worker)
      this.#busy.delete(worker)
      const index = this.#idle.indexOf(worker)
      if (index >= 0) this.#idle.splice(index, 1)
      task?.reject(error)
      if (!this.#closed) this.#dispatch()
    }
    worker.on('error', died)
    worker.on('exit', (code) => died(new Error(`chunking thread exited with code ${code}`)))
    return worker
  }
}

/**
 * The compiled worker next to this file; from the TypeScript sources (tsx, vitest), the same file
 * loaded through tsx's API, as a worker started from a .ts file gets no loader of its own on Node 20.
 */
function spawn(): Worker {
  const url = new URL(`./chunk-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
  if (url.pathname.endsWith('.js')) return new Worker(url)
  const href = JSON.stringify(url.href)
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${href}, ${href}))`, {
    eval: true,
  })
}
