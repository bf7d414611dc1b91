import { z } from 'zod'

/** A stream's id: 128 random bits in base64url (README "Resumable streams"). */
export const streamIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'a stream id is 22 characters of base64url')
  .describe('The stream id, from the `x-stream-id` header or a frame id')

/** The frame id a client resumes after: `<stream id>:<seq>`, as every frame of a resumable stream has. */
export const LAST_EVENT_ID = /^([A-Za-z0-9_-]{22}):(\d{1,9})$/

/** `?last_event_id=`, for clients that cannot set the Last-Event-ID header. */
export const lastEventIdField = z
  .string()
  .max(64)
  .optional()
  .describe(
    'Resume a stream after this frame id (`<stream id>:<seq>`) instead of starting one: the same as the ' +
      '`Last-Event-ID` header, which EventSource sends by itself when it reconnects',
  )

export const streamIdParamsSchema = z.object({ id: streamIdSchema })
