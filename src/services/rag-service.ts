import type { CallOptions } from '../providers/provider.js'
import type { Documents, PreparedAnswer } from '../rag/documents.js'
import type { Source } from '../rag/prompt.js'
import type { RetrieveOptions } from '../rag/retrieve.js'
import type { StreamSession } from '../streaming/stream-session.js'
import type { OpenOptions } from '../streaming/streams.js'
import type { ChatService } from './chat-service.js'

/** What /rag answers when retrieval finds nothing: no model is asked to answer from no context. */
export const NO_CONTEXT_ANSWER =
  'The documents do not contain anything relevant to this question, so there is no grounded answer.'

export interface AnswerOptions extends RetrieveOptions {
  /** The model that writes the answer (OpenAI). */
  model: string
}

/** A whole grounded answer; `model` is null when nothing relevant was found and no model was asked. */
export interface GroundedAnswer extends PreparedAnswer {
  text: string
  model: string | null
}

/** Answers grounded in the stored documents: retrieval, then the model over the passages it found. */
export class RagService {
  readonly #documents: Documents
  readonly #chat: ChatService

  constructor(documents: Documents, chat: ChatService) {
    this.#documents = documents
    this.#chat = chat
  }

  async answer(question: string, options: AnswerOptions, call: CallOptions): Promise<GroundedAnswer> {
    const prepared = await this.#documents.prepare(question, options, call)
    if (prepared.messages.length === 0) return { text: NO_CONTEXT_ANSWER, model: null, ...prepared }
    const result = await this.#chat.answer(
      'openai',
      { messages: prepared.messages, model: options.model },
      withPassages(call, prepared.sources),
    )
    return { text: result.text, model: result.model, ...prepared }
  }

  /**
   * A streamed grounded answer and the sources it cites, resolved once the model's first part arrived;
   * with nothing relevant, a stream that only ends (no model is called).
   */
  async streamAnswer(
    question: string,
    options: AnswerOptions,
    call: CallOptions,
    open?: OpenOptions,
  ): Promise<{ sources: Source[]; stream: StreamSession }> {
    const { sources, messages } = await this.#documents.prepare(question, options, call)
    const stream =
      messages.length === 0
        ? await this.#chat.streamFixed([{ type: 'end', finishReason: 'no_context' }], call, open)
        : await this.#chat.stream(
            'openai',
            { messages, model: options.model },
            withPassages(call, sources),
            open,
          )
    return { sources, stream }
  }
}

/**
 * The call, with the passages the answer is made from named for the response cache's key: their text is
 * in the prompt already, their ids are added (a document replaced under the same text is another answer).
 */
function withPassages(call: CallOptions, sources: Source[]): CallOptions {
  return { ...call, cacheScope: sources.map((source) => source.chunkId) }
}
