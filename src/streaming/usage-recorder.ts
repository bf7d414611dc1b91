import { type RequestLedger, recordUsage } from '../providers/provider.js'
import type { Stage } from './pipeline.js'

/**
 * Records the tokens a stream's upstream reported on its end part in the request's ledger (its access-log
 * line, its token budget), changing nothing it passes on. A cached answer served as a stream ends with no
 * usage: it spent no tokens.
 */
export function usageRecorder(ledger: RequestLedger): Stage {
  return {
    transform(event, context) {
      if (event.type === 'part' && event.part.type === 'end' && event.part.usage) {
        recordUsage(ledger, event.part.usage)
      }
      context.emit(event)
    },
  }
}
