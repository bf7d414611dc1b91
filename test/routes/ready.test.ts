import { describe, expect, it } from 'vitest'
import { ServiceUnavailableError } from '../../src/errors.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { openTestApp, testConfig } from '../helpers.js'

const ready = (app: Awaited<ReturnType<typeof openTestApp>>['app']) =>
  app.inject({ method: 'GET', url: '/ready' })

describe('GET /ready', () => {
  it('is 200 with every check ok when the document store answers', async () => {
    const { app } = await openTestApp(testConfig(), { store: emptyDocumentStore() })
    const response = await ready(app)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ready', checks: { config: 'ok', documents: 'ok' } })
  })

  it('is 503 naming the check when the store does not answer, without the raw error text', async () => {
    const store = emptyDocumentStore({
      ping: async () => {
        throw new Error('connect ECONNREFUSED postgres://user:hunter2@db')
      },
    })
    const { app, logText } = await openTestApp(testConfig(), { store })
    const response = await ready(app)
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({
      detail: 'not ready: documents: failed',
      checks: { config: 'ok', documents: 'failed' },
    })
    expect(logText()).toContain('readiness check failed')
  })

  it('is 503 with the safe reason when the store cannot open', async () => {
    const store = emptyDocumentStore({
      open: async () => {
        throw new Error('disk gone')
      },
    })
    const { app } = await openTestApp(testConfig(), { store })
    const response = await ready(app)
    expect(response.statusCode).toBe(503)
    expect(response.json().detail).toBe('not ready: documents: The document store is unavailable')
    expect(response.body).not.toContain('disk gone')
  })

  it('is 503 when a check outlasts READINESS_TIMEOUT_MS, and a hung check is not started again', async () => {
    let pings = 0
    const store = emptyDocumentStore({
      ping: () => {
        pings++
        return new Promise(() => {})
      },
    })
    const { app } = await openTestApp(testConfig({ READINESS_TIMEOUT_MS: '20' }), { store })
    for (const _probe of [1, 2]) {
      const response = await ready(app)
      expect(response.statusCode).toBe(503)
      expect(response.json().detail).toBe('not ready: documents: timed out after 20 ms')
    }
    expect(pings).toBe(1)
  })

  it('runs checks added with app.readiness.add (as Redis will be), showing an AppError message', async () => {
    const { app } = await openTestApp(testConfig(), { store: emptyDocumentStore() })
    app.readiness.add('redis', async () => {
      throw new ServiceUnavailableError()
    })
    const response = await ready(app)
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({
      detail: 'not ready: redis: AI service unavailable',
      checks: { config: 'ok', documents: 'ok', redis: 'AI service unavailable' },
    })
  })
})
