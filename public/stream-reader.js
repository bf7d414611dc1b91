// Readers for the server's two stream formats, from a fetch() response body. Plain ES module, no build
// step: copy it into any front end. EventSource cannot POST or send an Authorization header, hence fetch.

/** The body's lines, without their `\n` or `\r\n`, as they arrive. */
async function* lines(body) {
  // getReader() rather than `for await (const chunk of body)`: Safari cannot iterate a stream yet.
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffered += decoder.decode(read.value, { stream: true })
      const parts = buffered.split(/\r?\n/)
      buffered = parts.pop()
      yield* parts
    }
  } finally {
    // A reader that stops early (a terminal frame, an error) closes the connection instead of leaving it.
    reader.cancel().catch(() => {})
  }
  buffered += decoder.decode()
  if (buffered !== '') yield buffered
}

/**
 * Server-sent events: yields `{ id, data }` per event, `data` parsed as JSON, `id` the last `id:` seen
 * (keep it to resume with `Last-Event-ID`). Only `data:` lines carry frames: comments (`: ping`, a
 * heartbeat), `id:`, `retry:` and `event:` lines must be skipped, or JSON.parse throws on them.
 */
export async function* sseFrames(body) {
  let id
  let data = []
  for await (const line of lines(body)) {
    if (line === '') {
      // A blank line ends an event; one with no data lines (a comment alone) is no frame.
      if (data.length > 0) yield { id, data: JSON.parse(data.join('\n')) }
      data = []
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
    } else if (line.startsWith('id:')) {
      id = line.slice(3).trim()
    }
    // Anything else (`:` comments, `retry:`, `event:`) is not data.
  }
}

/** Newline-delimited JSON (/local-stream): yields each line parsed. */
export async function* ndjsonObjects(body) {
  for await (const line of lines(body)) if (line.trim() !== '') yield JSON.parse(line)
}
