/**
 * Whether a server holds the embedded document store: the CLI must not write to it behind the server's
 * back. A running server records itself in `<RAG_DATA_DIR>/.server.json` as `{pid, url}`.
 *
 * This is the one place the CLI asks; the store's own detector (issue 12, part A) can replace its body.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface StoreHolder {
  /** The server's process id. */
  pid: number
  /** Where it listens, for `--url`. */
  url: string
}

/** The server holding the store in `dataDirectory`, or undefined when none is running. */
export async function serverHoldingStore(dataDirectory: string): Promise<StoreHolder | undefined> {
  let recorded: unknown
  try {
    recorded = JSON.parse(await readFile(join(dataDirectory, '.server.json'), 'utf8'))
  } catch {
    return undefined // no record (no server ever ran here, or it stopped cleanly), or an unreadable one
  }
  const { pid, url } = (recorded ?? {}) as Partial<StoreHolder>
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof url !== 'string') return undefined
  // Our own pid in a record is a stale one (a container's CLI can be pid 1, as its server was).
  if (pid === process.pid) return undefined
  return isRunning(pid as number) ? { pid: pid as number, url } : undefined
}

/** Signal 0 checks that a process exists without touching it; EPERM: it exists, as another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
