import { describe, expect, it, vi } from 'vitest'
import { type AppError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../src/errors.js'
import { Pipeline, type RelayEvent, type Stage } from '../../src/streaming/pipeline.js'
import { deferred, delta, end, RecordingSink, settle, start } from './doubles.js'

const part = (text: string): RelayEvent => ({ type: 'part', part: delta(text) })
const endEvent: RelayEvent = { type: 'part', part: end() }

/** A short name for an event, for journals that check order. */
function named(event: RelayEvent): string {
  if (event.type === 'failure') return `failure:${event.error.name}`
  return event.part.type === 'text-delta' ? event.part.text : event.part.type
}

/** A stage that writes each event it sees into `journal`, then passes it on. */
function watching(name: string, journal: string[]): Stage & { closeCalls: number } {
  return {
    closeCalls: 0,
    transform(event, context) {
      journal.push(`${name} ${named(event)}`)
      context.emit(event)
    },
    close() {
      this.closeCalls++
    },
  }
}

/** A pipeline of `stages` into a recording sink, with the failures its upstream was cancelled with. */
function pipelineOf(...stages: Stage[]) {
  const cancels: AppError[] = []
  const pipeline = new Pipeline(stages, (error) => cancels.push(error))
  const sink = new RecordingSink()
  pipeline.attach(sink)
  pipeline.start()
  return { pipeline, sink, cancels }
}

describe('Pipeline', () => {
  it('hands each event through the stages in order, then to the sink', () => {
    const journal: string[] = []
    const { pipeline, sink } = pipelineOf(watching('first', journal), watching('second', journal))
    pipeline.push(part('a'))
    pipeline.push(part('b'))
    expect(journal).toEqual(['first a', 'second a', 'first b', 'second b'])
    expect(sink.events.map(named)).toEqual(['a', 'b'])
  })

  it('passes an event through a stage without transform, unchanged, to the next stage', () => {
    const journal: string[] = []
    const { pipeline, sink } = pipelineOf({ close() {} }, watching('next', journal), {})
    const event = part('a')
    pipeline.push(event)
    expect(journal).toEqual(['next a'])
    expect(sink.events).toEqual([event])
    expect(sink.events[0]).toBe(event)
  })

  it('lets a stage hold an event back', () => {
    const { pipeline, sink } = pipelineOf({
      transform(event, context) {
        if (named(event) !== 'secret') context.emit(event)
      },
    })
    for (const text of ['a', 'secret', 'b']) pipeline.push(part(text))
    expect(sink.events.map(named)).toEqual(['a', 'b'])
  })

  it('lets a stage replace an event, and the later stages see the replacement', () => {
    const journal: string[] = []
    const { pipeline, sink } = pipelineOf(
      {
        transform(event, context) {
          context.emit(event.type === 'part' && event.part.type === 'text-delta' ? part('[redacted]') : event)
        },
      },
      watching('after', journal),
    )
    pipeline.push(part('secret'))
    expect(journal).toEqual(['after [redacted]'])
    expect(sink.events).toEqual([part('[redacted]')])
  })

  it('starts every stage in order, giving each a context whose waitingSince reads the pipeline', () => {
    const journal: string[] = []
    const waits: (number | undefined)[] = []
    const stage = (name: string): Stage => ({
      start(context) {
        journal.push(name)
        waits.push(context.waitingSince())
      },
    })
    const pipeline = new Pipeline([stage('first'), stage('second')], () => {})
    pipeline.waitingSince = 42
    pipeline.start()
    expect(journal).toEqual(['first', 'second'])
    expect(waits).toEqual([42, 42])
  })

  describe('a failure from a stage', () => {
    /** Three watched stages around one that fails on the event `b`. */
    function failingOnB(error: AppError) {
      const journal: string[] = []
      const before = watching('before', journal)
      const failing: Stage & { closeCalls: number } = {
        closeCalls: 0,
        transform(event, context) {
          journal.push(`failing ${named(event)}`)
          if (named(event) === 'b') {
            context.fail(error)
            context.fail(new UpstreamTimeoutError())
            context.emit(part('after the failure'))
          } else context.emit(event)
        },
        close() {
          this.closeCalls++
        },
      }
      const after = watching('after', journal)
      return { journal, stages: [before, failing, after], ...pipelineOf(before, failing, after) }
    }

    it('cancels the upstream once, with that error', () => {
      const error = new UpstreamUnavailableError()
      const { pipeline, cancels } = failingOnB(error)
      pipeline.push(part('a'))
      pipeline.push(part('b'))
      pipeline.fail(new UpstreamTimeoutError())
      expect(cancels).toEqual([error])
      expect(cancels[0]).toBe(error)
    })

    it('reaches only the stages after the failing one, and the sink as its last event', () => {
      const error = new UpstreamUnavailableError()
      const { pipeline, sink, journal } = failingOnB(error)
      pipeline.push(part('a'))
      pipeline.push(part('b'))
      expect(journal).toEqual([
        'before a',
        'failing a',
        'after a',
        'before b',
        'failing b',
        'after failure:UpstreamUnavailableError',
      ])
      expect(sink.events).toEqual([part('a'), { type: 'failure', error }])
      expect(sink.events.at(-1)).toEqual({ type: 'failure', error })
    })

    it('ends the stream: later emits and pushes are ignored', () => {
      const { pipeline, sink, journal } = failingOnB(new UpstreamUnavailableError())
      pipeline.push(part('b'))
      pipeline.push(part('c'))
      pipeline.push(endEvent)
      expect(pipeline.ended).toBe(true)
      expect(journal).toEqual(['before b', 'failing b', 'after failure:UpstreamUnavailableError'])
      expect(sink.events.map(named)).toEqual(['failure:UpstreamUnavailableError'])
    })

    it('closes every stage exactly once and ends the sink once', () => {
      const { pipeline, sink, stages } = failingOnB(new UpstreamUnavailableError())
      pipeline.push(part('b'))
      pipeline.fail(new UpstreamTimeoutError())
      pipeline.push(endEvent)
      expect(stages.map((stage) => stage.closeCalls)).toEqual([1, 1, 1])
      expect(sink.endCalls).toBe(1)
    })
  })

  it('ignores a failure raised while another passes through: the upstream is cancelled once, the first is last', () => {
    const first = new UpstreamUnavailableError()
    const { pipeline, sink, cancels } = pipelineOf(
      {
        transform(event, context) {
          if (event.type === 'failure') context.fail(new UpstreamTimeoutError())
          context.emit(event)
        },
      },
      watching('after', []),
    )
    pipeline.fail(first)
    expect(cancels).toEqual([first])
    expect(sink.events).toEqual([{ type: 'failure', error: first }])
  })

  it('keeps a failure before a sink is attached as earlyFailure, and ends the stream', async () => {
    const error = new UpstreamTimeoutError()
    const closing = watching('closing', [])
    const cancels: AppError[] = []
    const pipeline = new Pipeline(
      [
        {
          start(context) {
            context.fail(error)
          },
        },
        closing,
      ],
      (reason) => cancels.push(reason),
    )
    pipeline.start()
    expect(pipeline.earlyFailure).toBe(error)
    expect(pipeline.ended).toBe(true)
    expect(cancels).toEqual([error])
    expect(closing.closeCalls).toBe(1)
    await pipeline.done
  })

  it('does not start the stages after one that failed in start', () => {
    const journal: string[] = []
    const pipeline = new Pipeline(
      [
        {
          start(context) {
            journal.push('first')
            context.fail(new UpstreamTimeoutError())
          },
        },
        { start: () => journal.push('second') },
      ],
      () => {},
    )
    pipeline.start()
    expect(journal).toEqual(['first'])
  })

  it('ends at the end part: the sink has it last, every stage is closed once, the sink is ended once', () => {
    const first = watching('first', [])
    const second = watching('second', [])
    const { pipeline, sink, cancels } = pipelineOf(first, second)
    pipeline.push({ type: 'part', part: start() })
    pipeline.push(endEvent)
    pipeline.push(part('late'))
    pipeline.fail(new UpstreamTimeoutError())
    expect(pipeline.ended).toBe(true)
    expect(sink.events.map(named)).toEqual(['start', 'end'])
    expect([first.closeCalls, second.closeCalls]).toEqual([1, 1])
    expect(sink.endCalls).toBe(1)
    expect(cancels).toEqual([])
  })

  it('resolves done only once the promise sink.end returned has resolved', async () => {
    const release = deferred()
    const pipeline = new Pipeline([], () => {})
    pipeline.attach(new RecordingSink({ end: () => release.promise }))
    const journal: string[] = []
    void pipeline.done.then(() => journal.push('done'))
    pipeline.push(endEvent)
    await settle()
    journal.push('released')
    release.resolve()
    await pipeline.done
    expect(journal).toEqual(['released', 'done'])
  })

  it('resolves done at once when sink.end returns nothing', async () => {
    const { pipeline } = pipelineOf()
    const resolved = vi.fn()
    void pipeline.done.then(resolved)
    pipeline.push(endEvent)
    await settle()
    expect(resolved).toHaveBeenCalledOnce()
  })

  it('cannot be kept open by a stage that swallows the failure', () => {
    const error = new UpstreamUnavailableError()
    const swallowing = {
      closeCalls: 0,
      transform(event: RelayEvent, context: { emit(event: RelayEvent): void }) {
        if (event.type === 'part') context.emit(event)
      },
      close() {
        this.closeCalls++
      },
    }
    const { pipeline, sink, cancels } = pipelineOf(swallowing)
    pipeline.push(part('a'))
    pipeline.fail(error)
    expect(pipeline.ended).toBe(true)
    expect(cancels).toEqual([error])
    expect(sink.events.map(named)).toEqual(['a'])
    expect(sink.endCalls).toBe(1)
    expect(swallowing.closeCalls).toBe(1)
  })
})
