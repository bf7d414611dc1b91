import { KNOWN_DIMENSIONS } from '../embedding-models.js'
import { UpstreamUnavailableError } from '../errors.js'
import { type OllamaProviderOptions, postToOllama } from './ollama.js'
import { type OpenAIOptions, postToOpenAI } from './openai.js'
import { type CallOptions, timed } from './provider.js'
import { readJson } from './upstream-http.js'

/** The model and width of a set of vectors: a store built with one refuses vectors of another. */
export interface EmbeddingSpace {
  /** e.g. `openai:text-embedding-3-small`, or `none` for keyword-only. */
  model: string
  /** Vector width; 0 for keyword-only. */
  dimensions: number
}

/** Turns texts into vectors of one embedding space. */
export interface Embedder {
  /** The model and width every vector has. */
  readonly space: EmbeddingSpace
  /** One vector per text, in order. Rejects with an AppError subclass. */
  embed(texts: string[], options: CallOptions): Promise<Float32Array[]>
}

/** OpenAI `/embeddings`, asked for base64: a quarter of the bytes of JSON floats, decoded in one copy. */
export class OpenAIEmbedder implements Embedder {
  readonly space: EmbeddingSpace
  readonly #openai: OpenAIOptions
  readonly #model: string
  readonly #shortened: boolean

  constructor(openai: OpenAIOptions, model: string, dimensions: number) {
    this.#openai = openai
    this.#model = model
    this.space = { model: `openai:${model}`, dimensions }
    // text-embedding-3 models can return shorter vectors; ask only when the width is not the model's own.
    this.#shortened = KNOWN_DIMENSIONS[model] !== dimensions
  }

  async embed(texts: string[], options: CallOptions): Promise<Float32Array[]> {
    const payload = {
      model: this.#model,
      input: texts,
      encoding_format: 'base64',
      ...(this.#shortened ? { dimensions: this.space.dimensions } : {}),
    }
    const answer = await timed(options, async () => {
      const body = await postToOpenAI(this.#openai, '/embeddings', payload, {
        stream: false,
        model: this.#model,
        call: options,
      })
      return readJson<{ data?: { index: number; embedding: string | number[] }[] }>(
        body,
        options,
        'OpenAI',
        this.#openai.maxAnswerBytes,
      )
    })
    const ordered = [...(answer.data ?? [])].sort((a, b) => a.index - b.index)
    return checked(
      ordered.map((item) => toVector(item.embedding)),
      texts.length,
      this.space,
    )
  }
}

/**
 * A base64 embedding is little-endian float32 bytes (as is every platform Node runs on here); some
 * compatible servers send floats anyway. Bytes that are not whole floats give an empty vector, which
 * `checked` refuses with the other malformed answers.
 */
function toVector(embedding: string | number[]): Float32Array {
  if (typeof embedding !== 'string') return Float32Array.from(embedding)
  const bytes = Buffer.from(embedding, 'base64')
  if (bytes.length % 4 !== 0) return new Float32Array(0)
  const vector = new Float32Array(bytes.length / 4)
  new Uint8Array(vector.buffer).set(bytes)
  return vector
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
      return readJson<{ embeddings?: number[][] }>(body, options, 'Ollama', this.#ollama.maxAnswerBytes)
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
