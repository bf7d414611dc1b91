import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.js'
import { MemoryReplayLog } from '../../streaming/memory-replay-log.js'
import type { ResumptionOptions } from '../../streaming/resumption.js'
import type { ServiceMeters } from '../metrics/index.js'

/**
 * The replay log of resumable streams (README "Resumable streams"): in memory on this instance, or in
 * Redis with REDIS_URL, shared by every instance. Undefined with STREAM_RESUME=false: no log, no stage,
 * no route. Closed when the app closes.
 */
export async function createReplayLog(
  app: FastifyInstance,
  config: Config,
  meters: ServiceMeters | undefined,
): Promise<Omit<ResumptionOptions, 'graceMs'> | undefined> {
  if (!config.STREAM_RESUME) return undefined
  const log = new MemoryReplayLog({
    retentionMs: config.STREAM_RESUME_RETENTION_MS,
    maxBytesPerStream: config.STREAM_RESUME_MAX_BYTES_PER_STREAM,
    maxBytes: config.STREAM_RESUME_MAX_BYTES,
    onEvicted: meters?.replayEvictions,
  })
  app.addHook('onClose', () => log.close())
  return { log, shared: false }
}
