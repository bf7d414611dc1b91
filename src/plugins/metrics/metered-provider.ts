import { AppError, ClientClosedRequestError, ServerShuttingDownError } from '../../errors.js'
import {
  type CallOptions,
  type ChatProvider,
  type GenerateRequest,
  type GenerateResult,
  type StreamPart,
  tokens,
  type Usage,
} from '../../providers/provider.js'
import { BoundedSeries } from './bounded-series.js'
import type { MetricSet } from './definitions.js'
import type { CounterCell, HistogramCell } from './plain-metrics.js'

type CounterChild = CounterCell

interface KeySeries {
  input: CounterChild
  output: CounterChild
  reasoning: CounterChild
}

/** One model's label children, looked up once per call instead of once per metric. */
interface ModelSeries {
  /** The model label: the model's name, or OTHER past the limit. */
  model: string
  generateDuration: HistogramCell
  streamDuration: HistogramCell
  retries: CounterChild
  /** By our error code: a fixed set of classes, so bounded without a limit. */
  errors: Map<string, CounterChild>
  tokens: BoundedSeries<KeySeries>
}

/** The key label of calls made without an API key (keys off, or an open route). */
const ANONYMOUS = 'anonymous'

/** Model names and key names each get this many series at most (key names come from issue 11's config). */
const KEY_NAME_LIMIT = 1_000

/**
 * A ChatProvider that measures the one it wraps: latency of calls that answered, errors by code, retries
 * (calls whose `attempt` is past the first) and the tokens the upstream reported, by provider and model.
 * The decorator stands at the provider seam (plugins/services.ts builds it), so no adapter knows about
 * metrics. Cancellations we caused for the client (it left, the server is closing) are not upstream errors.
 */
export class MeteredProvider implements ChatProvider {
  readonly #inner: ChatProvider
  readonly #provider: string
  readonly #metrics: MetricSet
  readonly #series: BoundedSeries<ModelSeries>

  constructor(inner: ChatProvider, provider: string, metrics: MetricSet, modelLimit: number) {
    this.#inner = inner
    this.#provider = provider
    this.#metrics = metrics
    this.#series = new BoundedSeries(modelLimit, (model) => ({
      model,
      generateDuration: metrics.upstreamDuration.labels(provider, model, 'generate'),
      streamDuration: metrics.upstreamDuration.labels(provider, model, 'stream'),
      retries: metrics.upstreamRetries.labels(provider, model),
      errors: new Map(),
      tokens: new BoundedSeries(KEY_NAME_LIMIT, (key) => ({
        input: metrics.tokens.labels(provider, model, key, 'input'),
        output: metrics.tokens.labels(provider, model, key, 'output'),
        reasoning: metrics.tokens.labels(provider, model, key, 'reasoning'),
      })),
    }))
  }

  async generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult> {
    const series = this.#begin(request, options)
    const started = performance.now()
    try {
      const result = await this.#inner.generate(request, options)
      series.generateDuration.observe((performance.now() - started) / 1000)
      countTokens(series, result.usage, options)
      return result
    } catch (error) {
      this.countError(series, options.signal.reason ?? error)
      throw error
    }
  }

  stream(request: GenerateRequest, options: CallOptions): AsyncIterable<StreamPart> {
    const series = this.#begin(request, options)
    return new MeteredParts(this.#inner.stream(request, options), this, series, options)
  }

  /** Counts a failure by its code, unless it is a cancellation the client or shutdown caused. */
  countError(series: ModelSeries, error: unknown): void {
    if (error instanceof ClientClosedRequestError || error instanceof ServerShuttingDownError) return
    const code = error instanceof AppError ? error.code : 'unknown'
    let counter = series.errors.get(code)
    if (counter === undefined) {
      counter = this.#metrics.upstreamErrors.labels(this.#provider, series.model, code)
      series.errors.set(code, counter)
    }
    counter.inc()
  }

  #begin(request: GenerateRequest, options: CallOptions): ModelSeries {
    const series = this.#series.get(request.model)
    if (options.attempt !== undefined && options.attempt > 1) series.retries.inc()
    return series
  }
}

/**
 * A stream's parts as they pass, measured: the wait for the first part, the usage on the end part, and
 * how the stream failed. A plain iterator, not an async generator: one `then` per part, no generator
 * frame (BENCHMARKS.md, "Metrics").
 */
class MeteredParts implements AsyncIterableIterator<StreamPart> {
  readonly #inner: AsyncIterator<StreamPart>
  readonly #provider: MeteredProvider
  readonly #series: ModelSeries
  readonly #options: CallOptions
  readonly #started = performance.now()
  #waitingForFirst = true

  constructor(
    parts: AsyncIterable<StreamPart>,
    provider: MeteredProvider,
    series: ModelSeries,
    options: CallOptions,
  ) {
    this.#inner = parts[Symbol.asyncIterator]()
    this.#provider = provider
    this.#series = series
    this.#options = options
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<StreamPart>> {
    return this.#inner.next().then(this.#onResult, this.#onError)
  }

  return(value?: unknown): Promise<IteratorResult<StreamPart>> {
    return this.#inner.return?.(value) ?? Promise.resolve({ done: true, value: undefined })
  }

  readonly #onResult = (result: IteratorResult<StreamPart>): IteratorResult<StreamPart> => {
    if (result.done) {
      // An adapter ends silently when its call is cancelled: a deadline's timeout is still a failure.
      const reason = this.#options.signal.reason
      if (reason) this.#provider.countError(this.#series, reason)
      return result
    }
    if (this.#waitingForFirst) {
      this.#waitingForFirst = false
      this.#series.streamDuration.observe((performance.now() - this.#started) / 1000)
    }
    if (result.value.type === 'end') countTokens(this.#series, result.value.usage, this.#options)
    return result
  }

  readonly #onError = (error: unknown): never => {
    this.#provider.countError(this.#series, this.#options.signal.reason ?? error)
    throw error
  }
}

function countTokens(series: ModelSeries, usage: Usage | undefined, options: CallOptions): void {
  if (usage === undefined) return
  const key = series.tokens.get(options.apiKeyName ?? ANONYMOUS)
  add(key.input, usage.inputTokens)
  add(key.output, usage.outputTokens)
  add(key.reasoning, usage.reasoningTokens)
}

/** A counter only grows: an upstream's missing, negative or non-numeric count adds nothing. */
function add(counter: CounterChild, count: number | undefined): void {
  const value = tokens(count)
  if (value > 0) counter.inc(value)
}
