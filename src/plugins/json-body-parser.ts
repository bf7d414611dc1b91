import { isUtf8 } from 'node:buffer'
import type { FastifyBodyParser, FastifyInstance } from 'fastify'
import { RequestValidationError } from '../errors.js'

type BufferParser = FastifyBodyParser<Buffer>

/**
 * The one JSON body parser, on the path of every POST. It takes the body as bytes, not as a string:
 * decoding to a string would replace bytes that are not UTF-8 with U+FFFD and hand the model text the
 * client never sent. RFC 8259 requires UTF-8, so anything else is a 422 json_invalid, as malformed
 * JSON is. `isUtf8` (simdutf) checks a 1 MiB body in well under the time JSON.parse takes on it
 * (BENCHMARKS.md, "JSON body parser"; `npx tsx bench/json-body-parser.ts`).
 *
 * Also:
 * - an empty body counts as no body (FastAPI accepts it), so `POST /safe?prompt=...` works from
 *   clients that always send `Content-Type: application/json`;
 * - a UTF-8 byte order mark is ignored (secure-json-parse drops it), as Python's json.loads does on
 *   bytes, so FastAPI accepts it too; RFC 8259 §8.1 lets a parser ignore it;
 * - nesting depth needs no bound of ours: V8's JSON.parse is not recursive, and BODY_LIMIT_BYTES
 *   bounds the work (a 1 MiB `[[[...]]]` parses in under a second and the schema rejects it at the top).
 */
export function registerJsonBodyParser(app: FastifyInstance) {
  // Only JSON bodies: text/plain would otherwise reach the schema and fail with a confusing message.
  app.removeContentTypeParser('text/plain')
  const parse = jsonBodyParser(app.getDefaultJsonParser('error', 'error') as unknown as BufferParser)
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse)
}

/** The parser itself, given Fastify's default JSON parser (which accepts a Buffer); bench/ measures it. */
export function jsonBodyParser(parseJson: BufferParser): BufferParser {
  return function parseJsonBody(this: FastifyInstance, request, body, done) {
    if (body.length === 0) return done(null, undefined)
    if (!isUtf8(body)) return done(notUtf8(), undefined)
    return parseJson.call(this, request, body, done)
  }
}

function notUtf8() {
  return new RequestValidationError([
    { loc: ['body'], msg: 'JSON decode error: the body is not valid UTF-8', type: 'json_invalid' },
  ])
}
