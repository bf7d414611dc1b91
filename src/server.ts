import { buildApp } from './app.js'
import { loadConfigOrExit } from './config.js'
import { loggerOptions } from './plugins/logger.js'

const config = loadConfigOrExit()

const app = await buildApp(config, { logger: loggerOptions(config) })

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

// Close gracefully: stop accepting, let in-flight requests finish, then release upstream pools.
let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const forceExit = setTimeout(() => process.exit(1), 10_000)
    forceExit.unref()
    app.close().then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'error while shutting down')
        process.exit(1)
      },
    )
  })
}

try {
  await app.listen({ port: config.PORT, host: config.HOST })
} catch (error) {
  app.log.fatal({ err: error }, 'could not start the server')
  process.exit(1)
}
