import { type RunningServer, runningServer } from '../rag/stores/lancedb/server-marker.js'

/**
 * The server holding the embedded document store in `dataDirectory` (it records itself there while it
 * runs: rag/stores/lancedb/server-marker.ts), or undefined when none is: the CLI must not write to the
 * store behind a server's back. A marker naming the CLI's own pid is a stale one: in a container the CLI
 * can be pid 1, as its server was.
 */
export async function serverHoldingStore(dataDirectory: string): Promise<RunningServer | undefined> {
  const server = await runningServer(dataDirectory)
  return server && server.pid !== process.pid ? server : undefined
}
