import type { FastifyRequest } from 'fastify'
import type { CallOptions } from '../providers/provider.js'
import type { OpenOptions } from '../streaming/streams.js'

/** What a service call needs from the request it serves (plugins/request-context.ts sets it up). */
export function callOptions(request: FastifyRequest): CallOptions {
  // Made by the first call, so requests that call no upstream allocate none.
  request.ledger ??= {}
  return {
    signal: request.clientSignal,
    requestId: request.id,
    timing: request.timing,
    apiKeyName: request.apiKey?.name,
    ledger: request.ledger,
    cacheControl: request.headers['cache-control'],
  }
}

/** callOptions for a call that opens a stream: with the client's share of open streams, when limited. */
export function streamCallOptions(request: FastifyRequest): CallOptions {
  const streamQuota = request.streamQuota
  return streamQuota ? { ...callOptions(request), streamQuota } : callOptions(request)
}

/** How a route that answers in SSE opens its stream: resumable, owned by the request's API key. */
export function resumableStream(request: FastifyRequest): OpenOptions {
  return { resumable: { owner: request.apiKey?.name } }
}
