import { ContentPolicyError } from '../errors.js'
import type { ContentPolicy, ModerationMeter } from './content-policy.js'
import { normalizeText } from './normalize-text.js'
import type { RelayEvent, Stage, StageContext } from './pipeline.js'

/** Released text matched again before the held text (normalised characters), for lookbehinds and `\b`. */
const CONTEXT_CHARS = 32

interface HeldEvent {
  event: RelayEvent
  /** Its text in matching form (normalize-text.ts); empty for parts without text. */
  normalized: string
}

/**
 * The output policy of a stream (README "Moderation"): no text that breaks a rule reaches the client,
 * even split across deltas. It holds back whole parts, only until the text after them is as long as the
 * longest match any rule can make (in normalised characters), so everything else flows at once and every
 * part is relayed unchanged (an upstream's own NDJSON lines stay byte-identical). Each delta is matched
 * together with the text still held and a little released text before it; a violation fails the stream
 * (the upstream is aborted, the last frame is `content_filtered`) and the held text is never sent. A
 * clean stream's held parts are released before its end. Each delta is normalised once, on arrival, and
 * matched as the concatenation of normalised parts (normalising the whole window again per delta cost
 * ~6 µs per delta on accented text, 1.4-4.8 µs this way on a loaded machine: bench/moderation.ts).
 */
export function outputPolicy(policy: ContentPolicy, meter?: ModerationMeter): Stage {
  const holdChars = policy.maxMatchChars
  const held: HeldEvent[] = []
  let heldText = ''
  let released = ''

  const refuse = (rule: string, context: StageContext) => {
    meter?.blocked(rule, 'output')
    context.fail(ContentPolicyError.output(rule))
  }

  const releaseOldest = (context: StageContext) => {
    const oldest = held.shift() as HeldEvent
    heldText = heldText.slice(oldest.normalized.length)
    if (oldest.normalized !== '') released = (released + oldest.normalized).slice(-CONTEXT_CHARS)
    context.emit(oldest.event)
  }

  return {
    transform(event, context) {
      const part = event.type === 'part' ? event.part : undefined
      if (part?.type === 'text-delta') {
        const normalized = normalizeText(part.text)
        const checked = released + heldText
        // A new match ends in this delta (or at the end of what came before, deferred): it starts after `from`.
        const from = Math.max(0, checked.length - holdChars)
        const rule = policy.findInNormalized(checked + normalized, true, from)
        if (rule !== undefined) return refuse(rule, context)
        held.push({ event, normalized })
        heldText += normalized
        // The oldest part goes once the text after it is longer than any match: none can reach back into it.
        while (held.length > 0 && heldText.length - (held[0] as HeldEvent).normalized.length >= holdChars) {
          releaseOldest(context)
        }
        return
      }
      // Parts without text keep their place behind held text (NDJSON relays every line in order).
      if (part !== undefined && part.type !== 'end' && held.length > 0) {
        held.push({ event, normalized: '' })
        return
      }
      // The stream ends (its last part, or a failure): what is held is whole now, checked as such.
      if (held.length > 0) {
        const whole = released + heldText
        const rule = policy.findInNormalized(whole, false, Math.max(0, whole.length - holdChars))
        if (rule !== undefined && part !== undefined) return refuse(rule, context)
        if (rule === undefined) while (held.length > 0) releaseOldest(context)
      }
      context.emit(event)
    },
  }
}
