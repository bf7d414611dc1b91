import { Agent } from 'undici'

/**
 * The app's one keep-alive pool for every upstream call (the chapter opened a client per request).
 * Uncapped by default (`maxConnections` 0): a stream holds its connection for its whole life, so a cap
 * would queue streams.
 */
export function createConnectionPool(maxConnections: number): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: maxConnections || null })
}
