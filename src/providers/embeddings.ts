import type OpenAI from 'openai'
import { UpstreamUnavailableError } from '../errors.js'
import { KNOWN_DIMENSIONS } from '../rag/embedding-models.js'
import type { EmbeddingSpace } from '../rag/types.js'
import { type OllamaProviderOptions, postToOllama, translateOllamaError } from './ollama.js'
import { requestOptions, translateOpenAIError } from './openai.js'
import { type CallOptions, timed } from './provider.js'

/** Turns texts into vectors of one embedding space. */
export interface Embedder {
  /** The model and width every vector has. */
  readonly space: EmbeddingSpace
  /** One vector per text, in order. Rejects with an AppError subclass. */
  embed(texts: string[], options: CallOptions): Promise<Float32Array[]>
}

/** OpenAI `/embeddings`. The SDK asks for base64 and decodes it to float32 values. */
export class OpenAIEmbedder implements Embedder {
  readonly space: EmbeddingSpace
  readonly #client: OpenAI
  readonly #model: string
  readonly #shortened: boolean

  constructor(client: OpenAI, model: string, dimensions: number) {
    this.#client = client
    this.#model = model
    this.space = { model: `openai:${model}`, dimensions }
    // text-embedding-3 models can return shorter vectors; ask only when the width is not the model's own.
    this.#shortened = KNOWN_DIMENSIONS[model] !== dimensions
  }

  async embed(texts: string[], options: CallOptions): Promise<Float32Array[]> {
    try {
      const response = await timed(options, () =>
        this.#client.embeddings.create(
          {
            model: this.#model,
            input: texts,
            ...(this.#shortened ? { dimensions: this.space.dimensions } : {}),
          },
          requestOptions(options),
        ),
      )
      const ordered = [...response.data].sort((a, b) => a.index - b.index)
      return checked(
        ordered.map((item) => Float32Array.from(item.embedding)),
        texts.length,
        this.space,
      )
    } catch (error) {
      throw error instanceof UpstreamUnavailableError
        ? error
        : translateOpenAIError(error, this.#model, options.signal)
    }
  }
}

/** Ollama `/api/embed` (vectors come L2-normalised). */
export class OllamaEmbedder implements Embedder {
  readonly space: EmbeddingSpace
  readonly #ollama: OllamaProviderOptions
  readonly #model: string

  constructor(ollama: OllamaProviderOptions, model: string, dimensions: number) {
    this.#ollama = ollama
    this.#model = model
    this.space = { model: `ollama:${model}`, dimensions }
  }

  async embed(texts: string[], options: CallOptions): Promise<Float32Array[]> {
    const payload = { model: this.#model, input: texts, truncate: true }
    const answer = await timed(options, async () => {
      const body = await postToOllama(this.#ollama, '/api/embed', payload, {
        stream: false,
        model: this.#model,
        call: options,
      })
      try {
        return (await body.json()) as { embeddings?: number[][] }
      } catch (error) {
        throw translateOllamaError(error, options.signal)
      }
    })
    return checked(
      (answer.embeddings ?? []).map((vector) => Float32Array.from(vector)),
      texts.length,
      this.space,
    )
  }
}

/** A wrong count or width would corrupt the store: refuse it loudly. */
function checked(vectors: Float32Array[], expected: number, space: EmbeddingSpace): Float32Array[] {
  const wrong = vectors.find((vector) => vector.length !== space.dimensions)
  if (vectors.length !== expected || wrong) {
    const got = wrong
      ? `${wrong.length}-dimensional vectors`
      : `${vectors.length} vectors for ${expected} texts`
    throw new UpstreamUnavailableError({
      isRetryable: false,
      logDetail: `${space.model} returned ${got}; EMBEDDING_DIMENSIONS says ${space.dimensions}`,
    })
  }
  return vectors
}
