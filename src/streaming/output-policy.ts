import { ContentPolicyError } from '../errors.js'
import type { ContentPolicy, ModerationMeter } from './content-policy.js'
import { normalizedLength, normalizeText } from './normalize-text.js'
import type { RelayEvent, Stage, StageContext } from './pipeline.js'

/** Text already released that is matched again before the held text, for lookbehinds and `\b`. */
const CONTEXT_CHARS = 32

interface HeldEvent {
  event: RelayEvent
  /** Its text (empty for parts without any). */
  text: string
  /** The length of its text in matching form (normalize-text.ts). */
  chars: number
}

/**
 * The output policy of a stream (README "Moderation"): no text that breaks a rule reaches the client,
 * even split across deltas. It holds back whole parts, only until the text after them is as long as the
 * longest match any rule can make (in normalised characters), so everything else flows at once and every
 * part is relayed unchanged (an upstream's own NDJSON lines stay byte-identical). Each delta is matched
 * together with the text still held and a little released text before it; a violation fails the stream
 * (the upstream is aborted, the last frame is `content_filtered`) and the held text is never sent. A
 * clean stream's held parts are released before its end.
 */
export function outputPolicy(policy: ContentPolicy, meter?: ModerationMeter): Stage {
  const holdChars = policy.maxMatchChars
  const held: HeldEvent[] = []
  let heldText = ''
  let heldChars = 0
  let released = ''

  /** The rule the released tail, the held text and `next` break together, or undefined. */
  const violation = (next: string, more: boolean) =>
    policy.findInNormalized(normalizeText(released + heldText + next), more)

  const refuse = (rule: string, context: StageContext) => {
    meter?.blocked(rule, 'output')
    context.fail(ContentPolicyError.output(rule))
  }

  const releaseOldest = (context: StageContext) => {
    const oldest = held.shift() as HeldEvent
    heldText = heldText.slice(oldest.text.length)
    heldChars -= oldest.chars
    if (oldest.text !== '') released = (released + oldest.text).slice(-CONTEXT_CHARS)
    context.emit(oldest.event)
  }

  return {
    transform(event, context) {
      const part = event.type === 'part' ? event.part : undefined
      if (part?.type === 'text-delta') {
        const rule = violation(part.text, true)
        if (rule !== undefined) return refuse(rule, context)
        const chars = normalizedLength(part.text)
        held.push({ event, text: part.text, chars })
        heldText += part.text
        heldChars += chars
        // The oldest part goes once the text after it is longer than any match: none can reach back into it.
        while (held.length > 0 && heldChars - (held[0] as HeldEvent).chars >= holdChars)
          releaseOldest(context)
        return
      }
      // Parts without text keep their place behind held text (NDJSON relays every line in order).
      if (part !== undefined && part.type !== 'end' && held.length > 0) {
        held.push({ event, text: '', chars: 0 })
        return
      }
      // The stream ends (its last part, or a failure): what is held is whole now, checked as such.
      if (held.length > 0) {
        const rule = violation('', false)
        if (rule !== undefined && part !== undefined) return refuse(rule, context)
        if (rule === undefined) while (held.length > 0) releaseOldest(context)
      }
      context.emit(event)
    },
  }
}
