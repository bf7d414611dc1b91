import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

// LanceDB has one writer per folder in mind: a second process writing beside a server (the ingest CLI)
// commits fine, but the two never coordinate. The server leaves this marker in the folder while it runs,
// so another process can tell, and ingest through the server's API instead. Plain files only: no LanceDB
// here, so a CLI can ask without loading the native module.

/** The marker's name in RAG_DATA_DIR. */
export const SERVER_MARKER_FILE = '.server.json'

/** A server process holding an embedded store. */
export interface RunningServer {
  /** Its process id. */
  pid: number
  /** Where it listens, e.g. http://127.0.0.1:8000. */
  url: string
}

/** Records that this process serves the store in `directory` at `url`; replaced whole, never half-written. */
export async function markServer(directory: string, url: string): Promise<void> {
  await mkdir(directory, { recursive: true })
  const marker: RunningServer = { pid: process.pid, url }
  const temporary = join(directory, `${SERVER_MARKER_FILE}.${process.pid}.tmp`)
  await writeFile(temporary, `${JSON.stringify(marker)}\n`)
  await rename(temporary, join(directory, SERVER_MARKER_FILE))
}

/** Removes the marker when this process wrote it; another server's marker stays. */
export async function unmarkServer(directory: string): Promise<void> {
  const marker = await readMarker(directory)
  if (marker?.pid === process.pid) await rm(join(directory, SERVER_MARKER_FILE), { force: true })
}

/**
 * The server holding the store in `directory`: undefined when there is no marker, it cannot be read, or
 * its process is gone (a server killed with SIGKILL leaves its marker behind).
 */
export async function runningServer(directory: string): Promise<RunningServer | undefined> {
  const marker = await readMarker(directory)
  return marker && isAlive(marker.pid) ? marker : undefined
}

async function readMarker(directory: string): Promise<RunningServer | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(directory, SERVER_MARKER_FILE), 'utf8'))
    const { pid, url } = (parsed ?? {}) as Partial<RunningServer>
    return Number.isInteger(pid) && (pid as number) > 0 && typeof url === 'string'
      ? { pid: pid as number, url }
      : undefined
  } catch {
    // Missing, unreadable or not JSON: no server to name.
    return undefined
  }
}

/** Signal 0 checks a process exists without touching it; EPERM: it exists, under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
