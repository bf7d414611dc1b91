import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import type { OpenAPIV3_1 } from 'openapi-types'

export const API_INFO = {
  title: 'GenAI API',
  description:
    'OpenAI and local models behind a fast, safe, documented HTTP API. Errors use the FastAPI envelope: ' +
    '`{"detail": "..."}`, and `{"detail": [{"loc", "msg", "type"}]}` with status 422 for invalid input. ' +
    'Every response carries `x-request-id` (yours, when you send an acceptable one).',
  version: '0.1.0',
}

/** The OpenAPI document built from the routes' Zod schemas, served at /openapi.json, UI at /docs. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: API_INFO,
      tags: [
        { name: 'chat', description: 'OpenAI Responses API' },
        { name: 'local', description: 'Local models through Ollama' },
        { name: 'rag', description: 'Answers grounded in the stored documents' },
        { name: 'documents', description: 'The document store behind /rag' },
        { name: 'operations', description: 'For load balancers and operators' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) =>
      tidyDocument(jsonSchemaTransformObject(documentObject) as OpenAPIV3_1.Document),
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

type Components = Record<string, OpenAPIV3_1.SchemaObject>

/**
 * The Zod provider emits every named schema twice: `XInput` for requests and `X` for responses, which
 * differ only by `additionalProperties: false` (Zod strips unknown keys from what it returns). Keep one,
 * the request's more permissive form, under the plain name. A body that may be null is an optional body.
 */
export function tidyDocument(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = (document.components?.schemas ?? {}) as Components
  const renamed = new Map<string, string>()
  for (const name of Object.keys(schemas)) {
    const output = name.endsWith('Input') ? name.slice(0, -'Input'.length) : undefined
    if (output && schemas[output]) renamed.set(name, output)
  }
  const rewrite = (json: string) =>
    json.replace(/"#\/components\/schemas\/(\w+)"/g, (match, name: string) =>
      renamed.has(name) ? `"#/components/schemas/${renamed.get(name)}"` : match,
    )
  const comparable = (schema: unknown) =>
    rewrite(JSON.stringify(schema)).replaceAll(',"additionalProperties":false', '')
  for (const [input, output] of renamed) {
    if (comparable(schemas[input]) !== comparable(schemas[output])) renamed.delete(input)
  }
  for (const [input, output] of renamed) {
    schemas[output] = schemas[input] as OpenAPIV3_1.SchemaObject
    delete schemas[input]
  }
  const tidied = JSON.parse(rewrite(JSON.stringify(document))) as OpenAPIV3_1.Document

  for (const pathItem of Object.values(tidied.paths ?? {})) {
    for (const operation of Object.values(pathItem ?? {}) as OpenAPIV3_1.OperationObject[]) {
      const body = operation?.requestBody as OpenAPIV3_1.RequestBodyObject | undefined
      const media = body?.content?.['application/json']
      const variants = (media?.schema as OpenAPIV3_1.SchemaObject | undefined)?.anyOf
      const nonNull = variants?.filter((variant) => (variant as OpenAPIV3_1.SchemaObject).type !== 'null')
      if (body && media && variants && nonNull?.length === 1 && variants.length === 2) {
        body.required = false
        media.schema = nonNull[0]
      }
    }
  }
  return tidied
}
