import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Config } from './config.js'
import { registerAccessControl } from './plugins/access-control.js'
import { registerTokenBudget } from './plugins/budgets/token-budget.js'
import { createSharedAnswers } from './plugins/cache/response-cache.js'
import { registerCors } from './plugins/cors.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { registerGracefulShutdown } from './plugins/graceful-shutdown.js'
import { InFlightRequests } from './plugins/in-flight-requests.js'
import { registerJsonBodyParser } from './plugins/json-body-parser.js'
import { createLimits, limitRoutesFromHere, redisReadinessCheck } from './plugins/limits/limits.js'
import { RequestLog } from './plugins/logger.js'
import { registerMetrics } from './plugins/metrics/index.js'
import { registerInputModeration } from './plugins/moderation/input-hook.js'
import { registerNotFound } from './plugins/not-found.js'
import { registerOpenApi } from './plugins/openapi.js'
import { registerPage } from './plugins/page.js'
import { registerReadiness } from './plugins/readiness.js'
import { registerConfiguredSecrets } from './plugins/redaction.js'
import { registerReplyDecorations } from './plugins/reply-decorations.js'
import { registerRequestContext, requestIdFor, serverTiming } from './plugins/request-context.js'
import { createReplayLog } from './plugins/resume/replay-log.js'
import { registerRouteAccess } from './plugins/route-access.js'
import { registerSecurityHeaders } from './plugins/security-headers.js'
import { capConnections, serverLimitOptions } from './plugins/server-limits.js'
import { registerServices, type ServiceOverrides } from './plugins/services.js'
import authRoutes from './routes/auth.js'
import chatRoutes from './routes/chat.js'
import documentRoutes from './routes/documents.js'
import healthRoutes from './routes/health.js'
import localRoutes from './routes/local.js'
import metricsRoutes from './routes/metrics.js'
import ragRoutes from './routes/rag.js'
import readyRoutes from './routes/ready.js'
import safeRoutes from './routes/safe.js'
import searchRoutes from './routes/search.js'
import streamRoutes from './routes/stream.js'

export interface BuildAppOptions extends ServiceOverrides {
  /** Fastify's logger option: false in tests, pino options in the server. */
  logger?: FastifyServerOptions['logger']
  /** A pino instance to log to (tests use one to read what was logged). */
  loggerInstance?: FastifyServerOptions['loggerInstance']
  /**
   * The clock stream tokens are issued and checked with, cached answers age by and token budgets' periods
   * follow, in ms (tests move it); Date.now by default.
   */
  now?: () => number
  /** Called before the routes are registered, so its hooks reach them (tests stand in for API keys). */
  setUp?: (app: FastifyInstance) => void
}

/** Builds the whole app without listening; server.ts listens, tests inject. */
export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: options.logger ?? false }),
    genReqId: requestIdFor,
    logController: new RequestLog(),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A hop count as the function proxy-addr makes of one (Fastify's types take no number).
    trustProxy:
      typeof config.TRUST_PROXY === 'number'
        ? (
            (hops) => (_address: string, hop: number) =>
              hop < hops
          )(config.TRUST_PROXY)
        : config.TRUST_PROXY,
    ...serverLimitOptions(config),
    // Fastify's own 503 is not FastAPI's envelope: plugins/graceful-shutdown.ts answers instead.
    return503OnClosing: false,
  })
  capConnections(app, config.MAX_CONNECTIONS)

  registerConfiguredSecrets(app, config)
  registerErrorHandler(app)
  registerNotFound(app)
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  registerJsonBodyParser(app)
  const inFlight = new InFlightRequests()
  registerRequestContext(app, inFlight)
  registerReplyDecorations(app)
  app.replyDecorations.add(serverTiming)

  // Access: before any route (each declares its scope), CORS before the key check (a preflight carries
  // no key), the key check before the rate limiter (which counts per key).
  const routeAccess = registerRouteAccess(app)
  registerSecurityHeaders(app)
  await registerCors(app, routeAccess, config.CORS_ORIGINS)
  registerAccessControl(app, config, options.now)

  await routeAccess.withDefaultScope('docs', () => registerOpenApi(app))
  if (config.PAGE_ENABLED) await routeAccess.withDefaultScope('docs', () => registerPage(app))

  const limits = await createLimits(app, config)
  const meters = registerMetrics(app, config)
  const now = options.now ?? Date.now
  const shared = createSharedAnswers(app, config, limits.redis, now)
  const replayLog = await createReplayLog(app, config, meters, limits.redis?.client)
  await registerServices(
    app,
    config,
    { ...options, streamSlots: limits.streamSlots, shared, replayLog },
    meters,
  )
  registerTokenBudget(app, config, limits.redis, now)
  // Before the routes: they declare what it checks (`moderatedInput`).
  registerInputModeration(app)
  registerReadiness(app, config.READINESS_TIMEOUT_MS)
  // Parsed at boot (loadConfigOrExit): a server that is running has a valid configuration.
  app.readiness.add('config', async () => {})
  app.readiness.add('documents', () => app.documents.ping())
  const redisCheck = redisReadinessCheck(config, limits)
  if (redisCheck) app.readiness.add('redis', redisCheck)
  registerGracefulShutdown(app, {
    inFlight,
    streams: app.streams.registry,
    graceMs: config.SHUTDOWN_GRACE_MS,
    resumption: app.streams.resumption,
  })

  options.setUp?.(app)
  // Open routes first (the docs are registered above): the request rate limit covers the routes after it.
  await app.register(healthRoutes)
  await app.register(readyRoutes)
  if (config.METRICS_ENABLED) await app.register(metricsRoutes, { token: config.METRICS_TOKEN })
  await limitRoutesFromHere(app, config, limits)
  await app.register(authRoutes)
  await app.register(chatRoutes)
  await app.register(safeRoutes)
  await app.register(streamRoutes)
  await app.register(localRoutes)
  await app.register(documentRoutes)
  await app.register(ragRoutes)
  await app.register(searchRoutes)
  return app
}
