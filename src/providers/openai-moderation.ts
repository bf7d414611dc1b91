import type { Moderation, ModerationCreateResponse } from 'openai/resources/moderations'
import { UpstreamUnavailableError } from '../errors.js'
import { type OpenAIOptions, postToOpenAI } from './openai.js'
import { type CallOptions, timed } from './provider.js'
import { readJson } from './upstream-http.js'

/** OpenAI's current moderation model: text and images, free of charge. */
export const MODERATION_MODEL = 'omni-moderation-latest'

/** Tells whether texts are harmful, one verdict per text. */
export interface ModerationClassifier {
  /** Per text, in order: the category it was flagged for, or undefined. Rejects with an AppError. */
  classify(texts: string[], call: CallOptions): Promise<(string | undefined)[]>
}

/**
 * OpenAI's moderation endpoint (`POST /v1/moderations`), every text of a request in one call, over the
 * same pool and error translation as the Responses adapter (openai.ts).
 */
export class OpenAIModeration implements ModerationClassifier {
  readonly #options: OpenAIOptions

  constructor(options: OpenAIOptions) {
    this.#options = options
  }

  async classify(texts: string[], call: CallOptions): Promise<(string | undefined)[]> {
    const model = MODERATION_MODEL
    const response = await timed(call, async () => {
      const payload = { model, input: texts }
      const body = await postToOpenAI(this.#options, '/moderations', payload, { stream: false, model, call })
      return readJson<ModerationCreateResponse>(body, call, 'OpenAI', this.#options.maxAnswerBytes)
    })
    const results = response.results
    if (!Array.isArray(results) || results.length !== texts.length) {
      const logDetail = `OpenAI moderation answered ${Array.isArray(results) ? results.length : 'no'} results for ${texts.length} inputs`
      throw new UpstreamUnavailableError({ isRetryable: false, logDetail })
    }
    return results.map(flaggedCategory)
  }
}

/** The first category a flagged result names (`harassment`, `violence/graphic`), or undefined. */
function flaggedCategory(result: Moderation): string | undefined {
  if (!result.flagged) return undefined
  const categories = Object.entries(result.categories ?? {})
  return categories.find(([, flagged]) => flagged === true)?.[0] ?? 'flagged'
}
