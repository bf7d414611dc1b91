import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPENAPI_PATH } from '../../scripts/generate-openapi.js'
import { emptyDocumentStore } from '../fakes/document-store.js'
import { buildTestApp, testConfig } from '../helpers.js'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Every route of the API (the committed OpenAPI document, which a test keeps in step) and its methods. */
const documented = Object.entries(
  JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')).paths as Record<string, Record<string, unknown>>,
).map(([path, operations]) => {
  const methods = Object.keys(operations).map((method) => method.toUpperCase())
  // Fastify answers HEAD wherever it answers GET, as Starlette does.
  const allowed = (methods.includes('GET') ? [...methods, 'HEAD'] : methods).sort()
  return { url: path.replace('{id}', 'sourdough'), allowed }
})
let app: FastifyInstance
beforeAll(async () => {
  ;({ app } = await buildTestApp(testConfig(), { store: emptyDocumentStore() }))
})
afterAll(async () => {
  await app?.close()
})

const routes = [...documented, { url: '/openapi.json', allowed: ['GET', 'HEAD'] }]

/** Each route asked with each method it does not take. */
const wrongMethods = routes.flatMap(({ url, allowed }) =>
  METHODS.filter((method) => !allowed.includes(method)).map((method) => ({ method, url, allowed })),
)

describe('a known path asked with another method', () => {
  it('covers every route of the API', () => {
    expect(routes.map((route) => route.url).sort()).toEqual([
      '/auth/stream-token',
      '/chat',
      '/documents',
      '/documents/sourdough',
      '/health',
      '/local-chat',
      '/local-stream',
      '/metrics',
      '/openapi.json',
      '/rag',
      '/ready',
      '/safe',
      '/search',
      '/stream',
      '/stream/sourdough',
    ])
  })

  it.each(wrongMethods)(
    '$method $url is 405 {"detail": "Method Not Allowed"} with Allow: $allowed',
    async ({ method, url, allowed }) => {
      const response = await app.inject({ method: method as 'GET', url: `${url}?prompt=hi` })
      expect(response.statusCode).toBe(405)
      expect(response.headers.allow).toBe(allowed.join(', '))
      expect(response.body).toBe(method === 'HEAD' ? '' : '{"detail":"Method Not Allowed"}')
    },
  )
})

describe('an unknown path', () => {
  it('is 404 {"detail": "Not Found"} with no Allow header, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/chats' })
      expect(response.statusCode).toBe(404)
      expect(response.headers.allow).toBeUndefined()
      expect(response.json()).toEqual({ detail: 'Not Found' })
    }
  })
})
