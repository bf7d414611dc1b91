import type {
  FastifyInstance,
  FastifyRequest,
  onResponseHookHandler,
  preHandlerAsyncHookHandler,
  RouteOptions,
} from 'fastify'
import type { Config } from '../../config.js'
import { TokenBudgetExceededError } from '../../errors.js'
import type { SharedCounters } from '../limits/rate-limit.js'
import { type BudgetCounters, MemoryBudgetCounters } from './budget-counters.js'
import { RedisBudgetCounters } from './redis-budget-counters.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route asks a model for an answer: token budgets apply to it (plugins/budgets/token-budget.ts). */
    generates?: boolean
  }
}

/**
 * Token budgets per API key and period (README "Usage and budgets"): TOKEN_BUDGET_PER_KEY tokens (input
 * plus output, as the upstream reported them), or a key's own `limits.tokensPerPeriod`, per
 * TOKEN_BUDGET_PERIOD_MS. Each route that `generates` gets two hooks of its own: before the handler, a
 * key whose period's count reached its budget is refused with 429 (no upstream call); when the response
 * has finished (a stream's too), the tokens in the request's ledger are charged. A request that starts
 * under the budget may end over it: its tokens are only known afterwards. Counted in memory, or in Redis
 * with REDIS_URL (shared). With TOKEN_BUDGET_PER_KEY=0 nothing is installed. Registered before the routes.
 */
export function registerTokenBudget(
  app: FastifyInstance,
  config: Config,
  redis: SharedCounters | undefined,
  now: () => number,
) {
  if (config.TOKEN_BUDGET_PER_KEY === 0) return
  const periodMs = config.TOKEN_BUDGET_PERIOD_MS
  const period = describePeriod(periodMs)
  const counters: BudgetCounters = redis
    ? new RedisBudgetCounters(redis.client, redis.failures, periodMs)
    : new MemoryBudgetCounters()
  const budgetOf = (request: FastifyRequest) =>
    request.apiKey?.limits?.tokensPerPeriod ?? config.TOKEN_BUDGET_PER_KEY

  const checkBudget: preHandlerAsyncHookHandler = async (request) => {
    const key = request.apiKey
    if (key === undefined) return
    const time = now()
    const current = Math.floor(time / periodMs)
    const budget = budgetOf(request)
    if ((await counters.used(key.name, current)) < budget) return
    app.metrics.countTokenBudgetRejection()
    const resetsAt = (current + 1) * periodMs
    throw new TokenBudgetExceededError(budget, period, new Date(resetsAt), resetsAt - time)
  }

  const chargeTokens: onResponseHookHandler = (request, _reply, done) => {
    const usage = request.ledger?.usage
    const key = request.apiKey
    if (usage !== undefined && key !== undefined) {
      const tokens = usage.inputTokens + usage.outputTokens
      if (tokens > 0) counters.charge(key.name, Math.floor(now() / periodMs), tokens)
    }
    done()
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.config?.generates) return
    route.preHandler = [...asArray(route.preHandler), checkBudget]
    route.onResponse = [...asArray(route.onResponse), chargeTokens]
  })
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

const UNITS: [string, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
]

/** A period for people: "day", "7 days", "90 seconds", else milliseconds. */
export function describePeriod(periodMs: number): string {
  for (const [unit, size] of UNITS) {
    if (periodMs % size !== 0) continue
    const count = periodMs / size
    return count === 1 ? unit : `${count} ${unit}s`
  }
  return `${periodMs} ms`
}
