import { describe, expect, it } from 'vitest'
import { answerKey } from '../../src/services/cache-key.js'

const request = { model: 'gpt-5', messages: [{ role: 'user' as const, content: 'hi' }] }

describe('answerKey', () => {
  it('is one key whatever order the objects name their members in', () => {
    const reordered = { messages: [{ content: 'hi', role: 'user' as const }], model: 'gpt-5' }
    expect(answerKey({ host: 'openai', request: reordered })).toBe(answerKey({ host: 'openai', request }))
    expect(answerKey({ host: 'openai', request })).toMatch(/^[0-9a-f]{64}$/)
  })

  it('differs for anything that changes the answer: host, model, messages, temperature, passages', () => {
    const base = answerKey({ host: 'openai', request })
    const variants = [
      answerKey({ host: 'ollama', request }),
      answerKey({ host: 'openai', request: { ...request, model: 'gpt-4.1' } }),
      answerKey({ host: 'openai', request: { ...request, messages: [{ role: 'user', content: 'hi!' }] } }),
      answerKey({ host: 'openai', request: { ...request, temperature: 0.2 } }),
      answerKey({ host: 'openai', request, scope: ['chunk-1'] }),
    ]
    expect(new Set([base, ...variants]).size).toBe(6)
  })

  it('cannot mistake a quote or comma inside a message for the boundary between two messages', () => {
    const two = {
      ...request,
      messages: [
        { role: 'user' as const, content: 'a' },
        { role: 'user' as const, content: 'b' },
      ],
    }
    const one = { ...request, messages: [{ role: 'user' as const, content: 'a"],["user","b' }] }
    expect(answerKey({ host: 'openai', request: one })).not.toBe(answerKey({ host: 'openai', request: two }))
  })
})
