import { readFile } from 'node:fs/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, it } from 'vitest'
import { OPENAPI_PATH, renderOpenApi } from '../scripts/generate-openapi.js'
import { openTestApp, testConfig } from './helpers.js'

describe('OpenAPI document', () => {
  it('openapi/openapi.json matches the routes (run `npm run openapi` after changing a schema)', async () => {
    expect(await readFile(OPENAPI_PATH, 'utf8')).toBe(await renderOpenApi())
  })

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(JSON.parse(await renderOpenApi()))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('is served at /openapi.json as committed, and Swagger UI at /docs', async () => {
    const { app } = await openTestApp(testConfig())
    const served = await app.inject({ method: 'GET', url: '/openapi.json' })
    const docs = await app.inject({ method: 'GET', url: '/docs/' })
    expect(served.json()).toEqual(JSON.parse(await readFile(OPENAPI_PATH, 'utf8')))
    expect(docs.statusCode).toBe(200)
    expect(docs.headers['content-type']).toContain('text/html')
  })

  it('documents the request, the answer and every error status of each provider route', async () => {
    const document = JSON.parse(await renderOpenApi())
    for (const path of ['/chat', '/safe']) {
      const operation = document.paths[path].post
      expect(Object.keys(operation.responses).sort()).toEqual([
        '200',
        '400',
        '404',
        '413',
        '422',
        '429',
        '502',
        '503',
        '504',
      ])
      expect(operation.responses['422'].content['application/json'].schema.$ref).toBe(
        '#/components/schemas/ValidationErrorResponse',
      )
      expect(operation.requestBody.content['application/json'].schema.$ref).toMatch(/Request$/)
    }
    expect(document.paths['/safe'].post.requestBody.required).toBe(false)
    expect(
      document.paths['/safe'].post.parameters.map((parameter: { name: string }) => parameter.name),
    ).toEqual(['prompt', 'model'])
  })
})
