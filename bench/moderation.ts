/**
 * `npm run bench:moderation`: what the output policy (src/streaming/output-policy.ts) costs per text
 * delta, in process: a stream's stages with the policy of 100 rules (90 of terms, 10 of patterns) against
 * the same stream with no stage at all, English deltas of 1-3 words, and text with accents and full-width
 * letters (Unicode normalisation's slow path). The figure is the median over rounds of µs per delta,
 * the difference being the policy's cost. The bound: under 5 µs per delta.
 */
import { ContentPolicy, type ContentRule } from '../src/streaming/content-policy.js'
import { outputPolicy } from '../src/streaming/output-policy.js'
import { Pipeline, type RelayEvent, type Stage } from '../src/streaming/pipeline.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const DELTAS = Number(process.env.BENCH_DELTAS ?? 200_000)

const rules: ContentRule[] = [
  ...Array.from({ length: 90 }, (_, index) => ({
    id: `terms-${index}`,
    terms: [`codename ${index} alpha`, `internal project ${index}`, `leak${index}`],
  })),
  ...Array.from({ length: 10 }, (_, index) => ({
    id: `pattern-${index}`,
    pattern: `\\bk${index}[0-9a-z]{12}\\b`,
    maxMatchChars: 14,
  })),
]
const policy = new ContentPolicy(rules)

const ENGLISH = 'The quick brown fox jumps over the lazy dog while the model keeps writing its long answer, '
const UNICODE = 'Ｔｈｅ café naïve résumé — ｆｕｌｌ-ｗｉｄｔｈ ｔｅｘｔ and accents, déjà vu, '

/** Deltas of 1-3 words cut from `text`, as a model streams them. */
function deltasOf(text: string): string[] {
  const words = text.split(/(?<= )/)
  const deltas: string[] = []
  for (let index = 0; index < words.length; index += 1 + (index % 3)) {
    deltas.push(words.slice(index, index + 1 + (index % 3)).join(''))
  }
  return deltas
}

const sink = { deliver(_event: RelayEvent) {}, ready: () => undefined, end: () => undefined }

/** µs per delta through `stages` for DELTAS deltas cycled from `deltas`. */
function run(stages: () => Stage[], deltas: string[]): number {
  const events: RelayEvent[] = deltas.map((text) => ({ type: 'part', part: { type: 'text-delta', text } }))
  const pipeline = new Pipeline(stages(), () => {
    throw new Error('the bench text breaks no rule')
  })
  pipeline.attach(sink)
  pipeline.start()
  const started = performance.now()
  for (let index = 0; index < DELTAS; index++) pipeline.push(events[index % events.length] as RelayEvent)
  return ((performance.now() - started) * 1000) / DELTAS
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

for (const [name, text] of [
  ['English', ENGLISH],
  ['accents and full-width', UNICODE],
] as const) {
  const deltas = deltasOf(text)
  const none: number[] = []
  const policed: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    none.push(run(() => [], deltas))
    policed.push(run(() => [outputPolicy(policy)], deltas))
  }
  const [without, withPolicy] = [median(none), median(policed)]
  console.log(
    `${name}: no stage ${without.toFixed(3)} µs/delta, 100 rules ${withPolicy.toFixed(3)} µs/delta ` +
      `(the policy: ${(withPolicy - without).toFixed(3)} µs/delta; ${ROUNDS} rounds of ${DELTAS} deltas)`,
  )
}
