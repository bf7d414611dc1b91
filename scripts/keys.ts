/**
 * `npm run keys -- create --name web --scope use [--requests-per-window N] [--concurrent-streams N]
 * [--models a,b]`: makes a new random API key, prints it once, and prints what the server needs to know
 * about it: its keys-file entry (API_KEYS_FILE) and, without limits or models, its API_KEY_HASHES form.
 * Nothing stores the key itself; the server only ever sees its SHA-256.
 */
import { parseArgs } from 'node:util'
import { generateKey, hashKey, keyEntrySchema } from '../src/plugins/key-ring.js'

const USAGE =
  'usage: npm run keys -- create --name <name> --scope use|admin ' +
  '[--requests-per-window N] [--concurrent-streams N] [--models a,b]'

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

let parsed: ReturnType<typeof parseCommandLine>
try {
  parsed = parseCommandLine()
} catch (error) {
  fail((error as Error).message)
}
const { values, positionals } = parsed
if (positionals.length !== 1 || positionals[0] !== 'create') fail('the only command is create')

const key = generateKey()
const number = (text: string | undefined) => (text === undefined ? undefined : Number(text))
const limits = {
  requestsPerWindow: number(values['requests-per-window']),
  concurrentStreams: number(values['concurrent-streams']),
}
const hasLimits = limits.requestsPerWindow !== undefined || limits.concurrentStreams !== undefined
const entry = keyEntrySchema.safeParse({
  name: values.name,
  scope: values.scope,
  sha256: hashKey(key),
  ...(hasLimits ? { limits } : {}),
  ...(values.models
    ? {
        models: values.models
          .split(',')
          .map((model) => model.trim())
          .filter(Boolean),
      }
    : {}),
})
if (!entry.success) {
  fail(entry.error.issues.map((issue) => `--${flagOf(issue.path)}: ${issue.message}`).join('\n'))
}

const { name, scope, sha256 } = entry.data
console.log(`New ${scope} key "${name}". It is shown only this once: give it to its client now.\n`)
console.log(`  ${key}\n`)
console.log('Add this entry to the "keys" list of your API_KEYS_FILE:\n')
console.log(`  ${JSON.stringify(entry.data)}\n`)
if (entry.data.limits === undefined && entry.data.models === undefined) {
  console.log('or this item to API_KEY_HASHES (comma-separated):\n')
  console.log(`  ${name}:${scope}:${sha256}`)
}

/** The option an entry's field came from: `limits.requestsPerWindow` -> `requests-per-window`. */
function flagOf(path: PropertyKey[]): string {
  const field = String(path[0] === 'limits' ? path[1] : path[0])
  return field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
}

function parseCommandLine() {
  return parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scope: { type: 'string' },
      'requests-per-window': { type: 'string' },
      'concurrent-streams': { type: 'string' },
      models: { type: 'string' },
    },
  })
}
