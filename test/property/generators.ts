import fc from 'fast-check'
import { MAX_MESSAGES, MAX_TEXT_CHARACTERS } from '../../src/schemas/text.js'
import type { Operation } from './operations.js'

/**
 * Generators of hostile input for the property tests: mutated bodies, their bytes, content types,
 * query strings, path parameters and headers.
 */

type Path = (string | number)[]

/** Every place in a JSON value, the root included. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [prefix]
  const keys: (string | number)[] = Array.isArray(value) ? Array.from(value.keys()) : Object.keys(value)
  return [
    prefix,
    ...keys.flatMap((key) => pathsOf((value as Record<string | number, unknown>)[key], [...prefix, key])),
  ]
}

const DROP = Symbol('drop')

/** A copy of `value` with the value at `path` replaced by `replace(old)`, or removed for DROP. */
function replaceAt(value: unknown, path: Path, replace: (old: unknown) => unknown): unknown {
  const [key, ...rest] = path
  if (key === undefined) return replace(value)
  const copy = Array.isArray(value) ? [...value] : { ...(value as object) }
  const record = copy as Record<string | number, unknown>
  const next = rest.length === 0 ? replace(record[key]) : replaceAt(record[key], rest, replace)
  if (next === DROP) {
    if (Array.isArray(copy) && typeof key === 'number') copy.splice(key, 1)
    else delete record[key]
  } else {
    // defineProperty, not assignment: a key named `__proto__` must become an own field of the JSON.
    Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true })
  }
  return copy
}

/** Text as clients get it wrong: blank, control characters, lone surrogates, any Unicode, oversized. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff'),
    maxLength: 8,
  }),
  fc.constantFrom('', '\u0000', '\u202e', '\ud800', '\udfff', '🥖', 'a\u0000b', '{{system}}', '</passage>'),
  fc.constantFrom(MAX_TEXT_CHARACTERS, MAX_TEXT_CHARACTERS + 1, 300_000).map((length) => 'x'.repeat(length)),
)

/** What a mutation can do to one place of a valid body. */
const mutation = (fields: string[]) =>
  fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) }),
    fc.record({ kind: fc.constant('text' as const), at: fc.nat(), value: hostileText }),
    fc.record({ kind: fc.constant('oversize' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('field' as const),
      name: fc.constantFrom(...fields, '__proto__', 'constructor', 'extra', ''),
      value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileText),
    }),
  )
type Change = ReturnType<typeof mutation> extends fc.Arbitrary<infer T> ? T : never

/** Makes whatever is at a place too big: text past its limit, a list past MAX_MESSAGES, a huge number. */
function oversized(old: unknown): unknown {
  if (typeof old === 'string') return old.padEnd(MAX_TEXT_CHARACTERS + 1, old || 'x')
  if (Array.isArray(old))
    return Array.from({ length: MAX_MESSAGES + 1 }, (_, index) => old[index % Math.max(1, old.length)])
  if (typeof old === 'number') return Number.MAX_VALUE
  return old
}

function apply(body: unknown, change: Change): unknown {
  if (change.kind === 'field') {
    // A field of an object: on an array, `constructor` would break the array's own methods.
    const base = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}
    return replaceAt(base, [change.name], () => change.value)
  }
  const paths = pathsOf(body)
  const path = paths[change.at % paths.length] ?? []
  switch (change.kind) {
    case 'drop':
      return path.length === 0 ? undefined : replaceAt(body, path, () => DROP)
    case 'retype':
      return replaceAt(body, path, () => change.value)
    case 'text':
      return replaceAt(body, path, () => change.value)
    case 'oversize':
      return replaceAt(body, path, oversized)
  }
}

/** The operation's example body with up to three mutations, or now and then any JSON at all. */
export function mutatedBody(operation: Operation): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc
        .array(mutation(operation.fields), { maxLength: 3 })
        .map((changes) => changes.reduce<unknown>((body, change) => apply(body, change), operation.example)),
    },
    { weight: 1, arbitrary: fc.jsonValue() },
  )
}

/** Byte sequences that are not UTF-8. */
const NOT_UTF8 = [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]

/** How the body becomes bytes: JSON, or JSON broken in a way a client or a proxy breaks it. */
export const encoding = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('json' as const) }) },
  fc.record({ kind: fc.constant('not-utf8' as const), at: fc.nat(), bytes: fc.constantFrom(...NOT_UTF8) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('bom' as const) }),
  fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
)

export function encode(
  body: unknown,
  how: typeof encoding extends fc.Arbitrary<infer T> ? T : never,
): Buffer {
  const json = Buffer.from(JSON.stringify(body) ?? '')
  switch (how.kind) {
    case 'json':
      return json
    case 'not-utf8': {
      const at = how.at % (json.length + 1)
      return Buffer.concat([json.subarray(0, at), Buffer.from(how.bytes), json.subarray(at)])
    }
    case 'cut':
      return json.subarray(0, how.at % (json.length + 1))
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json])
    case 'raw':
      return Buffer.from(how.bytes)
  }
}

/** Printable ASCII, as header values allow. */
export const printable = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    maxLength,
  })

/** Content types: JSON mostly, then its variants and everything else a client might claim. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    undefined,
    '',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json; charset=latin1',
    'application/json;;;',
    'application/vnd.api+json',
    'application/x-ndjson',
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    '*/*',
    'json',
  ),
  printable(40),
)

/** Accept headers, odd ones included. */
export const accept: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    undefined,
    '*/*',
    'application/json',
    'text/event-stream',
    'application/xml',
    'text/html;q=0.1',
    '',
  ),
  printable(40),
)

/** A percent-encoded string that any client could send, or garbage no encoder would produce. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
  hostileText.map((text) => {
    try {
      return encodeURIComponent(text)
    } catch {
      return escape(text) // a lone surrogate: `%uD800`, which no decoder accepts
    }
  }),
  fc.constantFrom(
    '%',
    '%z',
    '%zz',
    '%ff',
    '%c0%af',
    '%ed%a0%80',
    '%00',
    '+',
    '%2B',
    '=',
    '[]',
    '%%',
    '%E2%82',
  ),
  fc.constantFrom(5_000, 20_000).map((length) => 'x'.repeat(length)),
)

/** A query string: the operation's own keys and others, repeated, as arrays, empty, or garbage. */
export function queryString(operation: Operation): fc.Arbitrary<string> {
  const key = fc.oneof(
    fc.constantFrom(...operation.query, 'prompt', 'model', 'query', 'extra', ''),
    fc.constantFrom(...operation.query, 'prompt').map((name) => `${name}[]`),
    queryValue,
  )
  const pair = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(key, queryValue).map(([name, value]) => `${name}=${value}`) },
    { weight: 1, arbitrary: key },
  )
  return fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&'))
}

/** The operation's URL with its path parameters filled with anything a client could put there. */
export function url(operation: Operation): fc.Arbitrary<string> {
  const parameter = fc.oneof(
    queryValue,
    fc.constantFrom('%2F', '..', '%2E%2E', '.', 'a%2Fb', 'x'.repeat(3_000), '%F0%9F%A5%96'),
  )
  return fc
    .tuple(
      fc.array(parameter, { minLength: operation.params.length, maxLength: operation.params.length }),
      queryString(operation),
    )
    .map(([values, query]) => {
      let path = operation.path
      operation.params.forEach((name, index) => {
        path = path.replace(`{${name}}`, values[index] || 'x')
      })
      return query === '' ? path : `${path}?${query}`
    })
}
