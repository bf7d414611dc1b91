import type { CallOptions, ChatProvider, GenerateRequest, StreamPart } from '../providers/provider.js'
import type { RetryPolicy } from '../providers/retry.js'
import { answerRecorder } from './answer-recorder.js'
import type { ContentPolicy, ModerationMeter } from './content-policy.js'
import { deadlines } from './deadlines.js'
import { outputPolicy } from './output-policy.js'
import type { Stage } from './pipeline.js'
import { replayStage } from './replay-stage.js'
import type { ResumableStream } from './resumable-stream.js'
import type { Resumption } from './resumption.js'
import { fixedSource, providerSource, type SourceOpener } from './source.js'
import { type StreamMeter, streamMetrics } from './stream-metrics.js'
import { StreamRegistry } from './stream-registry.js'
import { StreamSession } from './stream-session.js'
import type { StreamLease, StreamSlots } from './stream-slots.js'
import { usageRecorder } from './usage-recorder.js'

export interface StreamLimits {
  /** Longest wait for the upstream's first part, per attempt. */
  firstEventMs: number
  /** Longest wait for each following part. */
  idleMs: number
  /** Longest life of the whole stream, retries included. */
  totalMs: number
}

export interface StreamsOptions {
  limits: StreamLimits
  /** Retries attempts until the first part. */
  retry: RetryPolicy
  /** Counts the streams each client holds open; undefined: streams are not limited per client. */
  slots?: StreamSlots
  /** Receives each stream's life (metrics); undefined: no metrics stage at all. */
  meter?: StreamMeter
  /** The rules answers must keep (README "Moderation"); undefined: no output policy stage at all. */
  outputPolicy?: { policy: ContentPolicy; meter?: ModerationMeter }
  /** Makes streams resumable (STREAM_RESUME); undefined: no stream is, at no cost. */
  resumption?: Resumption
}

/** How a stream is to be opened, beyond the call. */
export interface OpenOptions {
  /** Resumable when resumption is on (an SSE route); the owner is the API key name that starts it. */
  resumable?: { owner: string | undefined }
}

/**
 * Opens streamed answers. Every stream is composed here, the same way: its source (the provider's
 * attempts until the first part), then its stages in order: deadlines, the output policy when one is
 * configured, the stages later capabilities add (the request's token usage, the answer for the response
 * cache: both after the policy, so they see only what the client gets), metrics when they are on, and
 * the replay log when the stream is resumable. The wire format is the route's choice (stream-body.ts).
 */
export class Streams {
  readonly #options: StreamsOptions
  /** The streams in flight. */
  readonly registry = new StreamRegistry()

  constructor(options: StreamsOptions) {
    this.#options = options
  }

  /** How many streams are open. */
  get size(): number {
    return this.registry.size
  }

  /** A provider's streamed answer; resolves once its first part arrived, rejects with an AppError. */
  fromProvider(
    provider: ChatProvider,
    request: GenerateRequest,
    call: CallOptions,
    options: OpenOptions = {},
  ): Promise<StreamSession> {
    const { retry, limits } = this.#options
    const source = providerSource({
      provider,
      request,
      requestId: call.requestId,
      timing: call.timing,
      apiKeyName: call.apiKeyName,
      retry,
      firstEventMs: limits.firstEventMs,
    })
    return this.#open(source, call, options)
  }

  /** A stream whose parts are known already: no upstream is called. */
  fixed(
    parts: [StreamPart, ...StreamPart[]],
    call: CallOptions,
    options: OpenOptions = {},
  ): Promise<StreamSession> {
    return this.#open(fixedSource(...parts), call, options)
  }

  /** The resumable streams, when resumption is on. */
  get resumption(): Resumption | undefined {
    return this.#options.resumption
  }

  async #open(open: SourceOpener, call: CallOptions, options: OpenOptions): Promise<StreamSession> {
    // Before anything starts, so a client at its limit gets a plain 429 and costs no upstream call.
    const lease = await this.#acquireSlot(call)
    const resumption = options.resumable && this.#options.resumption
    let session: StreamSession | undefined
    const resumable = resumption
      ? resumption.open(options.resumable?.owner, call.signal, () => session?.ended ?? true)
      : undefined
    session = new StreamSession({
      open,
      stages: this.#stages(call, resumable),
      clientSignal: resumable ? resumable.control.signal : call.signal,
      resumable,
    })
    this.registry.track(session)
    if (resumable) resumption?.track(resumable, session.closed)
    // `closed` resolves however the stream ends: its last part, a failure (opening included), the client
    // leaving, shutdown; and only once its response has closed.
    if (lease) void session.closed.then(() => lease.release())
    await session.open()
    return session
  }

  #acquireSlot(call: CallOptions): Promise<StreamLease> | undefined {
    const quota = call.streamQuota
    if (!quota || !this.#options.slots) return undefined
    return this.#options.slots.acquire(quota.client, quota.limit)
  }

  #stages(call: CallOptions, resumable: ResumableStream | undefined): Stage[] {
    const { limits, meter, outputPolicy: output, resumption } = this.#options
    const stages = [deadlines(limits)]
    if (output) stages.push(outputPolicy(output.policy, output.meter))
    // The request's tokens, when the caller keeps a ledger (every route does; unit tests may not).
    if (call.ledger) stages.push(usageRecorder(call.ledger))
    // The whole answer, for the response cache, when the request lets it store one.
    if (call.onAnswer) stages.push(answerRecorder(call.onAnswer))
    // Metrics after the stages that raise failures: they see every one, and text as the client gets it.
    if (meter) stages.push(streamMetrics(meter))
    // The replay log last: it holds exactly what leaves the stages, which every follower is written.
    if (resumable && resumption) stages.push(replayStage(resumption.log, resumable.id))
    return stages
  }
}
