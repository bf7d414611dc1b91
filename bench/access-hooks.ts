/**
 * `npm run bench:access-hooks`: the CPU the access checks add to one request, in one process, where a
 * shared machine's noise moves every variant alike. Three apps answer `GET /documents` (a `use` route,
 * on an empty in-memory store: no upstream, no disk) through `app.inject`: `off` (no keys: helmet and
 * the cross-site check, which returns at once for a client that sends no Origin), `keys` (20 keys, the
 * request's Bearer key checked against all) and `keys+cors` (the same with an allowed Origin). Rounds
 * rotate the order; each figure is CPU µs per request, the median over rounds; the difference to `off`
 * is what the checks cost, the ratio says how much of a (cheap) request that is.
 */
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config.js'
import { generateKey, hashKey } from '../src/plugins/key-ring.js'
import { emptyDocumentStore } from '../test/fakes/document-store.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3_000)

const key = generateKey()
const hashes = [
  ...Array.from({ length: 19 }, (_, index) => `key${index}:use:${hashKey(generateKey())}`),
  `bench:use:${hashKey(key)}`,
].join(',')
const keys = { API_KEY_HASHES: hashes, STREAM_TOKEN_SECRET: 'x'.repeat(32) }
const ORIGIN = 'https://app.example'

const build = (environment: Record<string, string>) =>
  buildApp(parseConfig({ LOG_LEVEL: 'silent', ...environment }), { store: emptyDocumentStore() })

const variants = {
  off: { app: await build({}), headers: {} },
  keys: { app: await build(keys), headers: { authorization: `Bearer ${key}` } },
  'keys+cors': {
    app: await build({ ...keys, CORS_ORIGINS: ORIGIN }),
    headers: { authorization: `Bearer ${key}`, origin: ORIGIN },
  },
}
type Name = keyof typeof variants
const names = Object.keys(variants) as Name[]
const samples: Record<Name, number[]> = { off: [], keys: [], 'keys+cors': [] }

async function cpuPerRequest(name: Name): Promise<number> {
  const { app, headers } = variants[name]
  const before = process.cpuUsage()
  for (let index = 0; index < REQUESTS; index++) {
    const response = await app.inject({ url: '/documents', headers })
    if (response.statusCode !== 200) throw new Error(`${name}: ${response.statusCode} ${response.body}`)
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / REQUESTS
}

// A warm-up round, not counted: every variant's code compiled before any is measured.
for (const name of names) await cpuPerRequest(name)
for (let round = 0; round < ROUNDS; round++) {
  const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
  for (const name of order) samples[name].push(await cpuPerRequest(name))
}
await Promise.all(names.map((name) => variants[name].app.close()))

const middle = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const ratio = (name: Name) =>
  middle(samples[name].map((value, round) => value / (samples.off[round] ?? Number.NaN)))
console.log(`${ROUNDS} rounds of ${REQUESTS} GET /documents by app.inject\n`)
console.log('| variant | CPU per request | added to off | ratio to off |')
console.log('|---|---|---|---|')
for (const name of names) {
  const added = middle(samples[name]) - middle(samples.off)
  console.log(
    `| ${name} | ${middle(samples[name]).toFixed(1)} µs | ${added.toFixed(1)} µs | ${ratio(name).toFixed(3)}x |`,
  )
}
