import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../../src/cancellation.js'
import { ClientClosedRequestError, UpstreamRateLimitError } from '../../../src/errors.js'
import { defineMetrics } from '../../../src/plugins/metrics/definitions.js'
import { MeteredProvider } from '../../../src/plugins/metrics/metered-provider.js'
import type { ChatProvider, GenerateRequest, GenerateResult, Usage } from '../../../src/providers/provider.js'
import { parseMetrics, samplesOf, sumOf } from '../../metrics-text.js'

const LIMIT = 10

/** A provider answering every model at once with this usage, or failing with `error` when given. */
function stubProvider(options: { usage?: Usage; error?: Error } = {}): ChatProvider {
  return {
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      if (options.error) throw options.error
      return { text: 'ok', model: request.model, usage: options.usage }
    },
    async *stream() {},
  }
}

function metered(inner: ChatProvider) {
  const registry = new Registry()
  const provider = new MeteredProvider(inner, 'openai', defineMetrics(registry), LIMIT)
  return { provider, samples: async () => parseMetrics(await registry.metrics()) }
}

const call = (overrides: Partial<Parameters<ChatProvider['generate']>[1]> = {}) => ({
  signal: new Cancellation().signal,
  requestId: 'test',
  ...overrides,
})

const ask = (model: string) => ({ messages: [{ role: 'user' as const, content: 'hi' }], model })

describe('MeteredProvider', () => {
  it('1,000 distinct model names make at most LIMIT + 1 series of each metric, the rest as "other"', async () => {
    const { provider, samples } = metered(stubProvider({ usage: { inputTokens: 1, outputTokens: 1 } }))
    for (let index = 0; index < 1_000; index++) await provider.generate(ask(`model-${index}`), call())
    const failing = metered(stubProvider({ error: new UpstreamRateLimitError() }))
    for (let index = 0; index < 1_000; index++)
      await failing.provider.generate(ask(`model-${index}`), call()).catch(() => {})
    const ok = await samples()
    const models = (name: string) => new Set(samplesOf(ok, name).map((sample) => sample.labels.model))
    for (const name of ['genai_upstream_request_duration_seconds_count', 'genai_tokens_total']) {
      expect(models(name).size).toBe(LIMIT + 1)
      expect(models(name)).toContain('other')
    }
    expect(sumOf(ok, 'genai_upstream_request_duration_seconds_count', { model: 'other' })).toBe(990)
    expect(sumOf(ok, 'genai_tokens_total', { model: 'model-0', direction: 'input' })).toBe(1)
    const errors = samplesOf(await failing.samples(), 'genai_upstream_errors_total')
    expect(errors).toHaveLength(LIMIT + 1)
    expect(sumOf(errors, 'genai_upstream_errors_total', { model: 'other' })).toBe(990)
  })

  it('counts a call past its first attempt as a retry, and tokens under the API key name', async () => {
    const { provider, samples } = metered(stubProvider({ usage: { inputTokens: 5, outputTokens: 7 } }))
    await provider.generate(ask('m'), call({ attempt: 1, apiKeyName: 'team-a' }))
    await provider.generate(ask('m'), call({ attempt: 2, apiKeyName: 'team-a' }))
    await provider.generate(ask('m'), call())
    const all = await samples()
    expect(sumOf(all, 'genai_upstream_retries_total', { provider: 'openai', model: 'm' })).toBe(1)
    expect(sumOf(all, 'genai_tokens_total', { key: 'team-a', direction: 'output' })).toBe(14)
    expect(sumOf(all, 'genai_tokens_total', { key: 'anonymous', direction: 'input' })).toBe(5)
  })

  it('adds nothing for a missing, negative or non-numeric token count, and still answers', async () => {
    const usage = { inputTokens: -3, outputTokens: Number.NaN }
    const { provider, samples } = metered(stubProvider({ usage }))
    await expect(provider.generate(ask('m'), call())).resolves.toMatchObject({ text: 'ok' })
    expect(sumOf(await samples(), 'genai_tokens_total')).toBe(0)
  })

  it('does not count a call cancelled because the client left as an upstream error', async () => {
    const cancellation = new Cancellation()
    cancellation.cancel(new ClientClosedRequestError())
    const { provider, samples } = metered(stubProvider({ error: new Error('aborted') }))
    await expect(provider.generate(ask('m'), call({ signal: cancellation.signal }))).rejects.toThrow(
      'aborted',
    )
    expect(samplesOf(await samples(), 'genai_upstream_errors_total')).toEqual([])
  })
})
