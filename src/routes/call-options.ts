import type { FastifyRequest } from 'fastify'
import type { CallOptions } from '../providers/provider.js'

/** What a service call needs from the request it serves (plugins/request-context.ts sets it up). */
export function callOptions(request: FastifyRequest): CallOptions {
  return {
    signal: request.clientSignal,
    requestId: request.id,
    timing: request.timing,
    apiKeyName: request.apiKeyName,
  }
}
