import type { Readable } from 'node:stream'

/**
 * An upstream sent more than one of our bounds allows (a whole answer, one event, one line). Thrown by
 * the readers and decoders, which know neither the upstream nor the setting; upstream-http.ts turns it
 * into the typed error that names both.
 */
export class OverLimitError extends Error {
  override name = 'OverLimitError'

  /** `what` names the unit, e.g. "an SSE event". */
  constructor(what: string, maxBytes: number) {
    super(`${what} longer than ${maxBytes} bytes`)
  }
}

/**
 * Reads a whole body, or destroys it (closing the upstream connection) and throws OverLimitError as
 * soon as it passes `maxBytes`: an endless or huge answer costs at most that much memory. Hand-written
 * rather than raw-body, whose `limit` does the same count but pauses the stream instead of destroying
 * it and brings http-errors and iconv-lite for what is one loop over undici's body.
 */
export async function readAtMost(body: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    length += chunk.length
    if (length > maxBytes) {
      body.destroy()
      throw new OverLimitError(what, maxBytes)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, length)
}
