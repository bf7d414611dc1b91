import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { errorResponseSchema, providerErrorResponses } from '../schemas/errors.js'
import { promptBodySchema, streamQuerySchema } from '../schemas/prompt.js'
import { lastEventIdField, streamIdParamsSchema } from '../schemas/resume.js'
import { sse } from '../streaming/sse.js'
import { sendStream } from '../streaming/stream-body.js'
import { resumableStream, streamCallOptions } from './call-options.js'
import { asMessages, promptFrom, promptInputs } from './prompt-input.js'
import { invalidLastEventId, resumePosition, sendResumed, startsStream } from './resume-input.js'

const SSE_DESCRIPTION =
  'Server-sent events, compact JSON as shown. One `data: {"content":"<delta>"}` frame per text delta, then `data: {"done":true}` ' +
  '(with `"reason"` when the answer was cut short, e.g. `max_output_tokens`). A failure after the stream ' +
  'began ends it with `data: {"error":"stream_error","detail":"<message>"}`, or `{"error":"content_filtered"}` ' +
  'when the moderation policy withholds the rest of the answer. Every data frame has an ' +
  '`id:`; comments (`: ping`) are heartbeats: a hand-written reader parses `data:` lines and skips the ' +
  'rest (`id:`, `retry:`, comments). Failures before the first event are ordinary HTTP errors. ' +
  'Resumable (README "Resumable streams", on unless STREAM_RESUME=false): the `x-stream-id` header names ' +
  'the stream, the first frame is `data: {"stream_id":"<id>"}`, every id is `<stream id>:<seq>`, and a ' +
  'request with `Last-Event-ID` (or `?last_event_id=`) resumes after it instead of starting again: 204 ' +
  'once the terminal frame was had, 410 for an unknown or expired stream, 422 for a malformed id.'

const sseResponse = {
  description: SSE_DESCRIPTION,
  content: {
    'text/event-stream': {
      schema: z.string().meta({
        example:
          'id: 0b5e…:1\ndata: {"stream_id":"0b5e…"}\n\nid: 0b5e…:2\ndata: {"content":"Hi"}\n\n' +
          'id: 0b5e…:3\ndata: {"done":true}\n\n',
      }),
    },
  },
}

const streamRoutes: FastifyPluginAsyncZod = async (app) => {
  const schema = {
    tags: ['chat'],
    querystring: streamQuerySchema,
    response: { 200: sseResponse, ...providerErrorResponses },
  }

  app.post(
    '/stream',
    {
      config: { scope: 'use', generates: true, moderatedInput: promptInputs, opensStream: startsStream },
      schema: {
        ...schema,
        summary: 'Stream an answer as server-sent events',
        description: `Body \`{prompt, model?}\` (or the same as query parameters). ${SSE_DESCRIPTION}`,
        body: promptBodySchema,
      },
    },
    async (request, reply) => {
      const position = resumePosition(request)
      if (position) return sendResumed(request, reply, position)
      const { prompt, model } = promptFrom(request, request.query, request.body, app.config.DEFAULT_MODEL)
      const stream = await app.chat.stream(
        'openai',
        { messages: asMessages(prompt), model },
        streamCallOptions(request),
        resumableStream(request),
      )
      const streamId = stream.resumable?.id
      return sendStream(reply, stream, sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS, streamId }))
    },
  )

  app.get(
    '/stream',
    {
      // EventSource cannot send a key: a token from POST /auth/stream-token as `?access_token=`.
      config: {
        scope: 'use',
        streamToken: true,
        generates: true,
        moderatedInput: promptInputs,
        opensStream: startsStream,
      },
      schema: {
        ...schema,
        summary: 'Stream an answer as server-sent events, for EventSource',
        description: `For a browser's native \`EventSource\`: close it on the \`done\` frame, or it reconnects and asks again. ${SSE_DESCRIPTION}`,
      },
    },
    async (request, reply) => {
      const position = resumePosition(request)
      if (position) return sendResumed(request, reply, position)
      const { prompt, model } = promptFrom(request, request.query, undefined, app.config.DEFAULT_MODEL)
      const stream = await app.chat.stream(
        'openai',
        { messages: asMessages(prompt), model },
        streamCallOptions(request),
        resumableStream(request),
      )
      const streamId = stream.resumable?.id
      return sendStream(reply, stream, sse({ heartbeatMs: app.config.SSE_HEARTBEAT_MS, streamId }))
    },
  )

  // STREAM_RESUME=false: the streams have no id to follow or cancel, and these routes do not exist.
  const resumption = app.streams.resumption
  if (!resumption) return

  app.get(
    '/stream/:id',
    {
      config: { scope: 'use', streamToken: true },
      schema: {
        tags: ['chat'],
        summary: 'Follow a resumable stream',
        description:
          'Replays the frames of a stream this API key started (all of them, or those after the ' +
          '`Last-Event-ID` header or `?last_event_id=`), then follows it live until its end. Never starts a ' +
          'generation. 204 when the terminal frame was had already; 410 when the stream is unknown, expired ' +
          `or its frames are gone. ${SSE_DESCRIPTION}`,
        params: streamIdParamsSchema,
        querystring: z.object({ last_event_id: lastEventIdField }),
        response: {
          200: sseResponse,
          204: z.null().describe('The client had the terminal frame: nothing follows'),
          410: errorResponseSchema.describe('Unknown or expired stream (or another API key’s)'),
          503: errorResponseSchema.describe('The shared replay log (Redis) cannot be read right now'),
        },
      },
    },
    async (request, reply) => {
      const position = resumePosition(request) ?? { streamId: request.params.id, seq: -1 }
      if (position.streamId !== request.params.id) {
        throw invalidLastEventId(request, 'names another stream than the path')
      }
      return sendResumed(request, reply, position)
    },
  )

  app.delete(
    '/stream/:id',
    {
      config: { scope: 'use' },
      schema: {
        tags: ['chat'],
        summary: 'Cancel a resumable stream',
        description:
          'Aborts the generation and ends every follower with a last `stream_error` frame ("The stream was ' +
          'cancelled"). 204 also when the stream has ended already; 410 when it is unknown or expired.',
        params: streamIdParamsSchema,
        response: {
          204: z.null().describe('Cancelled, or over already'),
          410: errorResponseSchema.describe('Unknown or expired stream (or another API key’s)'),
          503: errorResponseSchema.describe('The shared replay log (Redis) cannot be read right now'),
        },
      },
    },
    async (request, reply) => {
      await resumption.cancel(request.params.id, request.apiKey)
      return reply.code(204).send(null)
    },
  )
}

export default streamRoutes
