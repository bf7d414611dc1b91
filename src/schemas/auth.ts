import { z } from 'zod'

export const streamTokenResponseSchema = z
  .object({
    token: z.string().describe('Pass it as `?access_token=` to GET /stream; it works on no other route'),
    expires_in: z.number().int().describe('Seconds until the token expires (STREAM_TOKEN_TTL_S)'),
  })
  .meta({ id: 'StreamToken', example: { token: 'eyJuYW1lIjoid2ViIn0.c2lnbmF0dXJl', expires_in: 300 } })
