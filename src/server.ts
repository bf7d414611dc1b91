import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfigOrExit } from './config.js'
import { accessWarnings } from './plugins/access-control.js'
import { SHUTDOWN_FLUSH_MS } from './plugins/graceful-shutdown.js'
import { loggerOptions } from './plugins/logger.js'
import { markServer, runningServer, unmarkServer } from './rag/stores/lancedb/server-marker.js'

const config = loadConfigOrExit()

// A keys file that cannot be used stops the start like a bad variable.
const app = await buildApp(config, { logger: loggerOptions(config) }).catch((error: unknown) => {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
})

for (const warning of accessWarnings(config, app.apiKeysRequired)) app.log.warn(warning)

if (!config.OPENAI_API_KEY) {
  app.log.warn('OPENAI_API_KEY is not set: /chat, /safe, /stream and /rag answers are 503 until it is')
}

// Open the document store now, so a store built with other embeddings stops the start, not a request.
try {
  await app.documents.ready()
} catch (error) {
  app.log.fatal(
    { err: error },
    error instanceof Error ? error.message : 'the document store cannot be opened',
  )
  process.exit(1)
}

/** Beyond the grace and the flush: time for the pools and the document store to close. */
const CLOSE_MARGIN_MS = 5_000

// Close gracefully on SIGTERM, SIGINT (and SIGHUP, SIGQUIT), and on an uncaught error: stop accepting,
// let requests in flight finish within SHUTDOWN_GRACE_MS (then answer them 503), release the pools, exit
// 0 (1 after an uncaught error). close-with-grace (Fastify's authors) also exits at once on a second
// signal, and with 1 if closing hangs past its delay. Not these: SIGUSR2 is the benchmarks' probe (and
// nodemon's restart), and after a real SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP or SIGABRT running
// JavaScript is unsafe (Node's docs): the process must die as the signal says.
closeWithGrace(
  {
    delay: config.SHUTDOWN_GRACE_MS + SHUTDOWN_FLUSH_MS + CLOSE_MARGIN_MS,
    logger: app.log,
    skip: ['SIGUSR2', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGTRAP', 'SIGABRT'],
  },
  async ({ signal, err }) => {
    if (err) app.log.fatal({ err }, 'uncaught error: shutting down')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  },
)

// The embedded store has one writer in mind: say so when another server holds it, and mark it held, so the
// ingest CLI can find this server instead of writing beside it (src/rag/stores/lancedb/server-marker.ts).
const embedded = config.DATABASE_URL === undefined
if (embedded) {
  const other = await runningServer(config.RAG_DATA_DIR)
  if (other && other.pid !== process.pid) {
    app.log.warn(other, `another server already uses the document store in ${config.RAG_DATA_DIR}`)
  }
  app.addHook('onClose', () => unmarkServer(config.RAG_DATA_DIR))
}

try {
  const url = await app.listen({ port: config.PORT, host: config.HOST })
  if (embedded) await markServer(config.RAG_DATA_DIR, url)
} catch (error) {
  app.log.fatal({ err: error }, 'could not start the server')
  process.exit(1)
}
