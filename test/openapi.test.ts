import { readFile } from 'node:fs/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { OpenAPIV3_1 } from 'openapi-types'
import { describe, expect, it } from 'vitest'
import { OPENAPI_PATH, renderOpenApi } from '../scripts/generate-openapi.js'
import { tidyDocument } from '../src/plugins/openapi.js'
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
        '401',
        '403',
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

describe('tidyDocument', () => {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
  const documentWith = (schemas: Record<string, object>, paths: object = {}) =>
    ({
      openapi: '3.1.0',
      info: { title: 'test', version: '1' },
      // Copies, so a test's expected values are never the objects tidyDocument was given.
      paths: structuredClone(paths),
      components: { schemas: structuredClone(schemas) },
    }) as OpenAPIV3_1.Document
  const item = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }
  const closed = { ...item, additionalProperties: false }

  it('keeps one of a pair that differs only by additionalProperties, under the plain name, in its place', () => {
    const tidied = tidyDocument(documentWith({ ItemInput: item, Other: { type: 'string' }, Item: closed }))
    expect(tidied.components?.schemas).toEqual({ Other: { type: 'string' }, Item: item })
    expect(Object.keys(tidied.components?.schemas ?? {})).toEqual(['Other', 'Item'])
  })

  it('ignores additionalProperties: false nested in the schemas it compares', () => {
    const list = (items: object) => ({ type: 'object', properties: { items: { type: 'array', items } } })
    const tidied = tidyDocument(documentWith({ ListInput: list(item), List: list(closed) }))
    expect(Object.keys(tidied.components?.schemas ?? {})).toEqual(['List'])
  })

  it('keeps apart a pair that differs in more than additionalProperties', () => {
    const schemas = {
      ItemInput: item,
      Item: { ...closed, required: [] },
      Box: { type: 'array', items: ref('ItemInput') },
    }
    const tidied = tidyDocument(documentWith(schemas))
    expect(tidied.components?.schemas).toEqual(schemas)
  })

  it('merges a pair whose refs point at the two halves of a merged pair', () => {
    const box = (name: string) => ({ type: 'object', properties: { item: ref(name) } })
    const tidied = tidyDocument(
      documentWith({ BoxInput: box('ItemInput'), ItemInput: item, Box: box('Item'), Item: closed }),
    )
    expect(tidied.components?.schemas).toEqual({ Box: box('Item'), Item: item })
  })

  it('keeps apart a pair whose refs point at a pair kept apart, even when it is compared first', () => {
    const box = (name: string) => ({ type: 'object', properties: { item: ref(name) } })
    const schemas = {
      BoxInput: box('ItemInput'),
      ItemInput: item,
      Box: box('Item'),
      Item: { ...closed, required: [] },
    }
    expect(tidyDocument(documentWith(schemas)).components?.schemas).toEqual(schemas)
  })

  it('rewrites refs nested in arrays, anyOf and paths, and leaves other refs alone', () => {
    const schemas = {
      ItemInput: item,
      Item: closed,
      Choice: { anyOf: [ref('ItemInput'), { type: 'array', items: [ref('ItemInput'), ref('Other')] }] },
      Other: { type: 'string', description: '#/components/schemas/ItemInput' },
    }
    const paths = {
      '/items': {
        post: {
          requestBody: { content: { 'application/json': { schema: ref('ItemInput') } } },
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: ref('Item') } } },
          },
        },
      },
    }
    const tidied = tidyDocument(documentWith(schemas, paths))
    expect(tidied.components?.schemas?.Choice).toEqual({
      anyOf: [ref('Item'), { type: 'array', items: [ref('Item'), ref('Other')] }],
    })
    expect(tidied.components?.schemas?.Other).toEqual(schemas.Other)
    expect(tidied.paths?.['/items']?.post).toEqual({
      requestBody: { content: { 'application/json': { schema: ref('Item') } } },
      responses: { '200': { description: 'ok', content: { 'application/json': { schema: ref('Item') } } } },
    })
  })

  it('leaves the document it is given as it was', () => {
    const document = documentWith({ ItemInput: item, Item: closed, Box: { items: ref('ItemInput') } })
    const before = structuredClone(document)
    tidyDocument(document)
    expect(document).toEqual(before)
  })

  it('turns a body that may be null into an optional body of the other schema', () => {
    const nullable = { anyOf: [ref('Item'), { type: 'null' }] }
    const paths = {
      '/items': {
        post: { requestBody: { required: true, content: { 'application/json': { schema: nullable } } } },
      },
    }
    const tidied = tidyDocument(documentWith({ Item: item }, paths))
    expect(tidied.paths?.['/items']?.post?.requestBody).toEqual({
      required: false,
      content: { 'application/json': { schema: ref('Item') } },
    })
  })
})
