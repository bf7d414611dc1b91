import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import type { CallOptions } from '../providers/provider.js'

/** What a service call needs from the request it serves (plugins/request-context.ts sets it up). */
export function callOptions(request: FastifyRequest): CallOptions {
  return {
    signal: request.clientSignal,
    requestId: request.id,
    timing: request.timing,
    apiKeyName: request.apiKey?.name,
  }
}

/** callOptions for a call that opens a stream: with the client's share of open streams, when limited. */
export function streamCallOptions(request: FastifyRequest): CallOptions {
  const options = callOptions(request)
  const globalLimit = request.server.config.STREAMS_PER_CLIENT
  // 0 turns the stream limit off, per-key limits included (as RATE_LIMIT_MAX=0 does for the rate).
  if (globalLimit === 0) return options
  const limit = request.apiKey?.limits?.concurrentStreams ?? globalLimit
  return { ...options, streamQuota: { client: clientOf(request), limit } }
}

/**
 * Who is calling, for per-client limits: the name of its API key, or its IP when keys are off (an IPv6
 * address as its /64, the block one host usually holds, as @fastify/rate-limit does).
 */
export function clientOf(request: FastifyRequest): string {
  return request.apiKey ? `key:${request.apiKey.name}` : `ip:${normalizeIP(request.ip)}`
}
