/**
 * Serialises work per key within the process: work holding a key starts once every earlier holder of any
 * of its keys has finished. Keys are all claimed at once, synchronously, so two holders of overlapping
 * keys always queue in the order they asked and can never wait on each other (no deadlock).
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>()

  async run<T>(keys: string[], work: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)]
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const earlier = unique.map((key) => this.#tails.get(key))
    for (const key of unique) this.#tails.set(key, held)
    try {
      await Promise.all(earlier)
      return await work()
    } finally {
      release()
      // The last holder of a key forgets it, so the map holds only keys in use.
      for (const key of unique) if (this.#tails.get(key) === held) this.#tails.delete(key)
    }
  }
}
