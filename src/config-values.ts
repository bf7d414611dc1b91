import { isIP } from 'node:net'
import { z } from 'zod'

/** The kinds of value the environment holds (config.ts), each parsed from its text with a clear error. */

export const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value)

export const optionalString = z.preprocess(emptyAsUndefined, z.string().optional())

export const integer = (defaultValue: number, min: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(defaultValue))

export const boolean = (defaultValue: boolean) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1')
      .default(defaultValue),
  )

/** A comma list of browser origins (`https://app.example.com`), or `*` alone for any origin. */
export const originList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : [],
  z
    .array(
      z.string().refine((origin) => origin === '*' || isOrigin(origin), {
        error: (issue) => `${String(issue.input)} is not an origin (scheme://host[:port], no path)`,
      }),
    )
    .refine((origins) => !origins.includes('*') || origins.length === 1, { error: '* stands alone' }),
)

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text)
    return /^https?:$/.test(url.protocol) && url.origin === text
  } catch {
    return false
  }
}

/** proxy-addr's names for address ranges, accepted by Fastify's trustProxy beside addresses and CIDRs. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * Which proxies' X-Forwarded-For is believed (Fastify's trustProxy): `false` (none: the socket's peer
 * is the client), `true` (any), a hop count, or a comma list of addresses, CIDRs and proxy-addr's range
 * names.
 */
export const trustProxy = z.preprocess(
  (value) => {
    if (value === undefined || value === '' || value === 'false') return false
    if (value === 'true') return true
    if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value)
    return typeof value === 'string' ? value.split(',').map((item) => item.trim()) : value
  },
  z.union([
    z.boolean(),
    z.number().int().min(1).max(100),
    z.array(
      z.string().refine((item) => PROXY_RANGES.has(item) || isIP(item.replace(/\/\d{1,3}$/, '')) !== 0, {
        error: (issue) =>
          `${String(issue.input)} is not an address, a CIDR or ${[...PROXY_RANGES].join('/')}`,
      }),
    ),
  ]),
)

export const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
export const optionalUrl = () => z.preprocess(emptyAsUndefined, httpUrl().optional())
export const urlWithDefault = (defaultValue: string) =>
  z.preprocess(emptyAsUndefined, httpUrl().default(defaultValue))

/** A comma-separated list; empty (or only commas and spaces) is undefined. */
export const optionalList = z.preprocess((value) => {
  if (typeof value !== 'string') return value
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  return items.length > 0 ? items : undefined
}, z.array(z.string()).optional())
