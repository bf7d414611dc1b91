import { AppError, ContentPolicyError, ModerationUnavailableError } from '../errors.js'
import type { ModerationClassifier } from '../providers/openai-moderation.js'
import type { CallOptions } from '../providers/provider.js'
import type { ContentPolicy, ModerationMeter } from '../streaming/content-policy.js'

/** One text of a request the input policy checks, and where it is (FastAPI's `loc`). */
export interface ModeratedText {
  /** Where the text is, e.g. ['body', 'messages', 0, 'content'], named in a refusal. */
  loc: (string | number)[]
  text: string
}

export interface InputModerationOptions {
  /** Rules every input must keep; undefined: none. */
  policy?: ContentPolicy
  /** The most characters one input may have; undefined: only the schemas' limits. */
  maxInputChars?: number
  /** OpenAI's moderation (MODERATION_OPENAI), asked after the local rules passed; undefined: not asked. */
  classifier?: ModerationClassifier
  /** Counts refusals by rule. */
  meter?: ModerationMeter
}

/** The rule id of an input longer than maxInputChars. */
export const MAX_INPUT_CHARS_RULE = 'max_input_chars'

/**
 * The input policy (README "Moderation"): run before any model is called, on every text a generating
 * route sends to one. The local rules first (no cost), then OpenAI's moderation when configured. A
 * refusal is a ContentPolicyError naming the rule and where the text is, never the text.
 */
export class InputModeration {
  readonly #options: InputModerationOptions

  constructor(options: InputModerationOptions) {
    this.#options = options
  }

  /** Resolves when every input may be sent to a model; rejects with ContentPolicyError, or 503 (fail closed). */
  async check(inputs: ModeratedText[], call: CallOptions): Promise<void> {
    const { policy, maxInputChars, classifier } = this.#options
    for (const { loc, text } of inputs) {
      if (maxInputChars !== undefined && text.length > maxInputChars) {
        throw this.#refuse(MAX_INPUT_CHARS_RULE, loc)
      }
      const rule = policy?.find(text)
      if (rule !== undefined) throw this.#refuse(rule, loc)
    }
    if (!classifier || inputs.length === 0) return
    let verdicts: (string | undefined)[]
    try {
      verdicts = await classifier.classify(
        inputs.map((input) => input.text),
        call,
      )
    } catch (error) {
      // The client left: nothing to answer. Anything else: refused, since nothing vouched for the input.
      if (call.signal.reason) throw call.signal.reason
      const why = error instanceof AppError ? `${error.code} ${error.logDetail ?? ''}` : String(error)
      throw new ModerationUnavailableError({ cause: error, logDetail: `OpenAI moderation failed: ${why}` })
    }
    const flagged = verdicts.findIndex((verdict) => verdict !== undefined)
    const input = inputs[flagged]
    if (input) throw this.#refuse(`openai:${verdicts[flagged]}`, input.loc)
  }

  #refuse(rule: string, loc: (string | number)[]): ContentPolicyError {
    this.#options.meter?.blocked(rule, 'input')
    return ContentPolicyError.input(rule, loc)
  }
}
