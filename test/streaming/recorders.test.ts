import { describe, expect, it } from 'vitest'
import { ClientClosedRequestError } from '../../src/errors.js'
import type { RequestLedger, StreamedAnswer, StreamPart } from '../../src/providers/provider.js'
import { answerRecorder } from '../../src/streaming/answer-recorder.js'
import { Pipeline, type Stage } from '../../src/streaming/pipeline.js'
import { usageRecorder } from '../../src/streaming/usage-recorder.js'
import { delta, end, RecordingSink, start } from './doubles.js'

/** A started stream whose only stage is `stage`, into a recording sink. */
function streamThrough(stage: Stage) {
  const pipeline = new Pipeline([stage], () => {})
  const sink = new RecordingSink()
  pipeline.attach(sink)
  pipeline.start()
  const push = (...parts: StreamPart[]) => {
    for (const part of parts) pipeline.push({ type: 'part', part })
  }
  return { pipeline, sink, push }
}

const usage = { inputTokens: 21, outputTokens: 202, reasoningTokens: 192 }

describe('usageRecorder', () => {
  it("adds the end part's usage to the request's ledger and passes every part on unchanged", () => {
    const ledger: RequestLedger = { usage: { inputTokens: 5, outputTokens: 1, reasoningTokens: 0 } }
    const { sink, push } = streamThrough(usageRecorder(ledger))
    const parts: StreamPart[] = [start(), delta('Hi'), { type: 'end', finishReason: 'stop', usage }]
    push(...parts)
    expect(ledger.usage).toEqual({ inputTokens: 26, outputTokens: 203, reasoningTokens: 192 })
    expect(sink.parts).toEqual(parts)
  })

  it('records nothing for an end without usage (a cached answer spent no tokens)', () => {
    const ledger: RequestLedger = {}
    streamThrough(usageRecorder(ledger)).push(start(), delta('Hi'), end())
    expect(ledger.usage).toBeUndefined()
  })
})

describe('answerRecorder', () => {
  it('hands over the whole text and the model once the end part passes, and passes every part on', () => {
    const answers: StreamedAnswer[] = []
    const { sink, push } = streamThrough(answerRecorder((answer) => answers.push(answer)))
    push(start('gpt-5'), delta('Hi'), delta(' there'))
    expect(answers).toEqual([])
    push(end())
    expect(answers).toEqual([{ text: 'Hi there', model: 'gpt-5' }])
    expect(sink.parts).toEqual([start('gpt-5'), delta('Hi'), delta(' there'), end()])
  })

  it('hands over nothing when the stream fails or the client leaves before its end', () => {
    const answers: StreamedAnswer[] = []
    const { pipeline, push } = streamThrough(answerRecorder((answer) => answers.push(answer)))
    push(start(), delta('Hi'))
    pipeline.fail(new ClientClosedRequestError())
    expect(answers).toEqual([])
  })
})
