import { z } from 'zod'

export const errorResponseSchema = z
  .object({ detail: z.string().describe('What went wrong, safe to show to a user') })
  .meta({ id: 'ErrorResponse', description: 'FastAPI-style error: `{"detail": "..."}`' })

export const validationIssueSchema = z
  .object({
    loc: z
      .array(z.union([z.string(), z.number()]))
      .describe('Where the bad value is, e.g. ["body", "messages", 0, "role"]'),
    msg: z.string().describe('What is wrong with it'),
    type: z.string().describe('A stable kind of error, e.g. "missing", "json_invalid", "too_small"'),
  })
  .meta({ id: 'ValidationIssue' })

export const validationErrorResponseSchema = z
  .object({ detail: z.array(validationIssueSchema) })
  .meta({ id: 'ValidationErrorResponse', description: 'Invalid input, as FastAPI reports it' })

const described = (description: string) => errorResponseSchema.describe(description)

/** The error responses every provider-backed route can give, documented once. */
export const providerErrorResponses = {
  400: described('The provider rejected the request (e.g. an unsupported parameter); its message, sanitised'),
  404: described("The model does not exist: `model '<name>' not found`"),
  413: described('The request body is larger than the limit'),
  422: validationErrorResponseSchema.describe(
    'Invalid input: each issue names its location, e.g. ["body", "messages", 0, "role"]. With a moderation ' +
      'policy (README "Moderation"), also an input it refuses (`type` `content_policy`, the rule in `msg`) ' +
      'or an answer it withholds (`loc` ["response"], `type` `content_filtered`)',
  ),
  429: described(
    'Too many requests: over this client\'s request rate or open streams (README "Rate limits"), its API key\'s token budget (README "Usage and budgets"), or the provider is rate limiting; see Retry-After',
  ),
  502: described('The provider failed, refused our credentials, or could not be reached'),
  503: described(
    "The provider is not configured on this server (the detail names the variable to set), or OpenAI's moderation (MODERATION_OPENAI) could not be asked",
  ),
  504: described('The provider did not answer in time'),
}
