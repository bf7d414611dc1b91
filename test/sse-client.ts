import { createParser } from 'eventsource-parser'

export interface ParsedStream {
  /** Data frames in order, with their ids and parsed JSON payloads. */
  frames: { id: string | undefined; data: Record<string, unknown> }[]
  /** Comment lines (heartbeats and the like), without the colon. */
  comments: string[]
  /** The concatenated `content` of every frame. */
  text: string
  /** The last frame's payload. */
  last: Record<string, unknown> | undefined
}

/** Reads a whole SSE response with a spec-compliant parser. */
export async function readSse(response: Response): Promise<ParsedStream> {
  const frames: ParsedStream['frames'] = []
  const comments: string[] = []
  const parser = createParser({
    onEvent: (event) => frames.push({ id: event.id, data: JSON.parse(event.data) }),
    onComment: (comment) => comments.push(comment.trim()),
  })
  const decoder = new TextDecoder()
  for await (const chunk of response.body ?? []) parser.feed(decoder.decode(chunk, { stream: true }))
  const text = frames.map((frame) => frame.data.content ?? '').join('')
  return { frames, comments, text, last: frames.at(-1)?.data }
}
