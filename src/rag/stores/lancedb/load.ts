import type { Config } from '../../../config.js'

/**
 * Loads the LanceDB store, and with it LanceDB's native module, setting LANCE_CPU_THREADS from the
 * configuration first. Lance reads the variable once per process, the first time it sizes its CPU pool
 * (lance-core's `get_num_compute_intensive_cpus`, a LazyLock), and never again; before the module loads
 * is the one point sure to come earlier. A static import of the store (or of `@lancedb/lancedb`) is
 * evaluated before any code of the importer runs, hence this one dynamic import every loader goes through.
 */
export async function loadLanceStore(
  config: Pick<Config, 'LANCE_CPU_THREADS'>,
): Promise<typeof import('./store.js')> {
  process.env.LANCE_CPU_THREADS = String(config.LANCE_CPU_THREADS)
  return import('./store.js')
}
