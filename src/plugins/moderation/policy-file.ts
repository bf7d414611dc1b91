import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { type Config, ConfigError } from '../../config.js'
import { ContentPolicy, type ContentRule } from '../../streaming/content-policy.js'

/**
 * The moderation policy, loaded once at boot from MODERATION_POLICY_FILE and MODERATION_BLOCKED_TERMS
 * (README "Moderation"); a file that cannot be used stops the server with a message naming what is wrong.
 */

/** The rule id MODERATION_BLOCKED_TERMS's phrases are refused under. */
export const BLOCKED_TERMS_RULE = 'blocked-terms'

/** A regular expression's longest match, when its rule does not say (README "Moderation"). */
export const DEFAULT_MAX_MATCH_CHARS = 64

const direction = z.enum(['input', 'output'])

const ruleId = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{1,64}$/,
    'must be 1-64 letters, digits, _ . or - (it is logged and a metrics label)',
  )

const appliesTo = z
  .array(direction)
  .min(1)
  .default(['input', 'output'])
  .describe('What the rule checks: the inputs, the answers, or both (the default)')

const termsRuleSchema = z.strictObject({ id: ruleId, terms: z.array(z.string().min(1)).min(1), appliesTo })

const patternRuleSchema = z.strictObject({
  id: ruleId,
  pattern: z.string().min(1).superRefine(checkPattern),
  maxMatchChars: z.number().int().min(1).max(4096).default(DEFAULT_MAX_MATCH_CHARS),
  appliesTo,
})

export const policyFileSchema = z.strictObject({
  rules: z.array(z.union([termsRuleSchema, patternRuleSchema])).default([]),
  maxInputChars: z.number().int().min(1).optional(),
})

/** Escapes and group names: what may hold upper-case letters in a pattern that only sees lower case. */
const ESCAPES_AND_NAMES = /\\[pPk]\{[^}]*\}|\\k<[^>]*>|\(\?<[^>=!][^>]*>|\\./g

/** Why a pattern cannot be one alternative of the combined matcher on normalised text, if it cannot. */
function checkPattern(pattern: string, context: z.RefinementCtx): void {
  const problem = patternProblem(pattern)
  if (problem) context.addIssue({ code: 'custom', message: problem })
}

function patternProblem(pattern: string): string | undefined {
  let regexp: RegExp
  try {
    regexp = new RegExp(pattern, 'u')
  } catch (error) {
    return `not a valid regular expression (flag u): ${(error as Error).message}`
  }
  if (regexp.test('')) return 'matches empty text, so it would refuse everything'
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not supported: patterns are combined into one'
  if (/[A-Z]/.test(pattern.replace(ESCAPES_AND_NAMES, ''))) {
    return 'has upper-case letters: it is matched against lower-cased text (write [a-z], not [A-Z])'
  }
  return undefined
}

/** The policy the server enforces: undefined parts are not checked at all. */
export interface ModerationPolicy {
  /** Rules every input must keep; undefined: none. */
  input?: ContentPolicy
  /** Rules every answer must keep; undefined: no output policy stage and no whole-answer check. */
  output?: ContentPolicy
  /** The most characters one input (a message, a prompt, a question) may have. */
  maxInputChars?: number
}

/** The configured policy, or undefined when moderation is off (no file, no terms). */
export function loadModerationPolicy(config: Config): ModerationPolicy | undefined {
  const file = config.MODERATION_POLICY_FILE ? readPolicyFile(config.MODERATION_POLICY_FILE) : undefined
  const rules = file?.rules ?? []
  const terms = config.MODERATION_BLOCKED_TERMS
  if (terms) rules.push({ id: BLOCKED_TERMS_RULE, terms, appliesTo: ['input', 'output'] })
  const ids = new Set<string>()
  for (const rule of rules) {
    if (ids.has(rule.id)) throw new ConfigError(`Moderation: the rule id '${rule.id}' is used twice`)
    ids.add(rule.id)
  }
  const policyFor = (side: 'input' | 'output') => {
    const sideRules: ContentRule[] = rules.filter((rule) => rule.appliesTo.includes(side))
    return sideRules.length > 0 ? new ContentPolicy(sideRules) : undefined
  }
  const policy = {
    input: policyFor('input'),
    output: policyFor('output'),
    maxInputChars: file?.maxInputChars,
  }
  const empty = !policy.input && !policy.output && policy.maxInputChars === undefined
  return empty ? undefined : policy
}

function readPolicyFile(path: string): z.infer<typeof policyFileSchema> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`MODERATION_POLICY_FILE: cannot read ${path} as JSON: ${(error as Error).message}`)
  }
  const result = policyFileSchema.safeParse(json)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
  throw new ConfigError(`MODERATION_POLICY_FILE (${path}):\n${lines.join('\n')}`)
}
