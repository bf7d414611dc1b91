import type { StreamedAnswer } from '../providers/provider.js'
import type { Stage } from './pipeline.js'

/**
 * Keeps a stream's text as it passes and hands the whole answer to `onAnswer` when the stream ends with
 * its end part (the response cache stores it); a stream that fails or is cut off by the client hands
 * nothing. Composed late (streams.ts), so it keeps the text as the client got it. Only in the streams of
 * requests the response cache may write: with the cache off it is not there at all.
 */
export function answerRecorder(onAnswer: (answer: StreamedAnswer) => void): Stage {
  const texts: string[] = []
  let model: string | undefined
  return {
    transform(event, context) {
      if (event.type === 'part') {
        const part = event.part
        if (part.type === 'text-delta') texts.push(part.text)
        else if (part.type === 'start') model = part.model
        else if (part.type === 'end') onAnswer({ text: texts.join(''), model })
      }
      context.emit(event)
    },
  }
}
