import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

/**
 * Who is calling, for per-client limits: the name of its API key, or its IP when keys are off (an IPv6
 * address as its /64, the block one host usually holds, as @fastify/rate-limit does). Behind a load
 * balancer the IP is the balancer's unless TRUST_PROXY names it (README "Rate limits").
 */
export function clientOf(request: FastifyRequest): string {
  return request.apiKey ? `key:${request.apiKey.name}` : `ip:${normalizeIP(request.ip)}`
}
