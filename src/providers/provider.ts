/** The provider seam: routes and services speak these types, never a vendor SDK's. */

export type MessageRole = 'system' | 'developer' | 'user' | 'assistant'

export interface ChatMessage {
  /** Who speaks. */
  role: MessageRole
  /** What they say. */
  content: string
}

export interface GenerateRequest {
  /** The conversation so far; the last message is usually the user's. */
  messages: ChatMessage[]
  /** The model to ask. */
  model: string
  /** Sampling temperature; sent upstream only when the caller set it. */
  temperature?: number
}

export interface GenerateResult {
  /** The answer text. */
  text: string
  /** The model that answered, as the upstream names it (often a dated snapshot). */
  model: string
}

export interface CallOptions {
  /** Fires when the client goes away; aborts the upstream call and any retry wait. */
  signal: AbortSignal
  /** Our request id, forwarded upstream so both logs can be joined. */
  requestId: string
}

export interface ChatProvider {
  /** Asks for one complete answer. Rejects with an AppError subclass. */
  generate(request: GenerateRequest, options: CallOptions): Promise<GenerateResult>
}
