import { z } from 'zod'

/**
 * Input limits. BODY_LIMIT_BYTES (1 MiB by default) already bounds a request's total; these bound each
 * part so that a client learns which field is wrong with a 422 that names it, and so that the OpenAPI
 * document says what is accepted (maxItems, maxLength) before anyone sends it.
 */

/**
 * Messages in one conversation. A long chat rarely passes a few hundred turns; more is a client
 * replaying a log, which the model's context window would refuse anyway (after a paid round trip).
 */
export const MAX_MESSAGES = 500

/**
 * Characters in one message or prompt: ~25k tokens of English, a long document pasted whole. The
 * body limit (1 MiB) allows at most ten of them in one request.
 */
export const MAX_TEXT_CHARACTERS = 100_000

/** Characters in a RAG question: it is embedded and searched, and a question is a sentence or a paragraph. */
export const MAX_QUESTION_CHARACTERS = 4_000

/** Characters in a model name: the longest real ones (a fine-tune id, an Ollama `namespace/model:tag`) are ~100. */
export const MAX_MODEL_CHARACTERS = 256

/** A character that is not whitespace; as JSON Schema's `pattern` it shows in the OpenAPI document. */
const NOT_BLANK = /\S/

/**
 * Text a model is asked about: non-empty, at most `maxCharacters`, and not only whitespace (the model
 * would be called, and paid, for nothing). An empty string reports only `too_small`, as FastAPI's
 * `min_length` does; a blank one `invalid_format` with a message that says why.
 */
export function nonBlankText(maxCharacters: number) {
  return z
    .string()
    .min(1, { abort: true })
    .max(maxCharacters)
    .regex(NOT_BLANK, 'must not be empty or only whitespace')
}
