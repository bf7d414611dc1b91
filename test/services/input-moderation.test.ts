import { describe, expect, it } from 'vitest'
import { Cancellation } from '../../src/cancellation.js'
import {
  ClientClosedRequestError,
  ContentPolicyError,
  ModerationUnavailableError,
  UpstreamRateLimitError,
} from '../../src/errors.js'
import type { ModerationClassifier } from '../../src/providers/openai-moderation.js'
import type { CallOptions } from '../../src/providers/provider.js'
import { InputModeration } from '../../src/services/input-moderation.js'
import { ContentPolicy } from '../../src/streaming/content-policy.js'

const call = (cancellation = new Cancellation()): CallOptions => ({
  signal: cancellation.signal,
  requestId: 'req-1',
})

/** A classifier that records what it was asked and answers with `answer`. */
function classifier(answer: (texts: string[]) => Promise<(string | undefined)[]>) {
  const asked: string[][] = []
  const double: ModerationClassifier = {
    classify: (texts) => {
      asked.push(texts)
      return answer(texts)
    },
  }
  return { double, asked }
}

const inputs = [
  { loc: ['body', 'messages', 0, 'content'], text: 'hello' },
  { loc: ['body', 'messages', 1, 'content'], text: 'world' },
]

describe('InputModeration', () => {
  it('does not ask the classifier about inputs the local rules refuse', async () => {
    const { double, asked } = classifier(async (texts) => texts.map(() => undefined))
    const moderation = new InputModeration({
      policy: new ContentPolicy([{ id: 'w', terms: ['world'] }]),
      classifier: double,
    })
    const refused = await moderation.check(inputs, call()).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ContentPolicyError)
    expect((refused as ContentPolicyError).rule).toBe('w')
    expect(asked).toEqual([])
  })

  it('rethrows the reason of a client that left while the classifier was asked, not a 503', async () => {
    const cancellation = new Cancellation()
    const left = new ClientClosedRequestError()
    const { double } = classifier(async () => {
      cancellation.cancel(left)
      throw new Error('aborted')
    })
    const moderation = new InputModeration({ classifier: double })
    await expect(moderation.check(inputs, call(cancellation))).rejects.toBe(left)
  })

  it('refuses with ModerationUnavailableError, keeping the cause, when the classifier fails', async () => {
    const failure = new UpstreamRateLimitError()
    const moderation = new InputModeration({ classifier: classifier(() => Promise.reject(failure)).double })
    const refused = (await moderation.check(inputs, call()).catch((error: unknown) => error)) as Error
    expect(refused).toBeInstanceOf(ModerationUnavailableError)
    expect(refused.cause).toBe(failure)
  })

  it('counts a refusal by rule, as an input', async () => {
    const blocked: string[] = []
    const moderation = new InputModeration({
      classifier: classifier(async () => [undefined, 'violence']).double,
      meter: { blocked: (rule, direction) => blocked.push(`${direction}:${rule}`) },
    })
    await expect(moderation.check(inputs, call())).rejects.toThrow('rule openai:violence')
    expect(blocked).toEqual(['input:openai:violence'])
  })

  it('asks nothing for a request without inputs', async () => {
    const { double, asked } = classifier(async () => [])
    await new InputModeration({ classifier: double }).check([], call())
    expect(asked).toEqual([])
  })
})
