import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import type { OpenAPIV3_1 } from 'openapi-types'
import { withoutUpgradeInsecureRequests } from './security-headers.js'

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
        { name: 'auth', description: 'Tokens for clients that cannot send an API key' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (`gk_...`) when the server has API keys configured; none otherwise',
          },
          streamToken: {
            type: 'apiKey',
            in: 'query',
            name: 'access_token',
            description: 'For EventSource on GET /stream: a token from POST /auth/stream-token',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) =>
      tidyDocument(jsonSchemaTransformObject(documentObject) as OpenAPIV3_1.Document),
  })
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // Its page needs inline scripts and styles: the CSP @fastify/swagger-ui computes for them.
    staticCSP: true,
    transformStaticCSP: withoutUpgradeInsecureRequests,
  })
  app.get('/openapi.json', { config: { scope: 'docs' }, schema: { hide: true } }, async () => app.swagger())
}

const SCHEMA_REF = '#/components/schemas/'

/**
 * The Zod provider emits every named schema twice: `XInput` for requests and `X` for responses, which
 * differ only by `additionalProperties: false` (Zod strips unknown keys from what it returns). Keep one,
 * the request's more permissive form, under the plain name. A body that may be null is an optional body.
 */
export function tidyDocument(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = document.components?.schemas ?? {}
  const renamed = mergeablePairs(schemas)
  const merged = { ...schemas }
  for (const [input, output] of renamed) {
    merged[output] = merged[input] as OpenAPIV3_1.SchemaObject
    delete merged[input]
  }
  const source = renamed.size
    ? { ...document, components: { ...document.components, schemas: merged } }
    : document
  const tidied = rewriteRefs(source, renamed) as OpenAPIV3_1.Document

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

/** `XInput` -> `X` for each pair of schemas that are the same but for `additionalProperties: false`. */
function mergeablePairs(schemas: Record<string, unknown>): Map<string, string> {
  const renamed = new Map<string, string>()
  for (const name of Object.keys(schemas)) {
    const output = name.endsWith('Input') ? name.slice(0, -'Input'.length) : ''
    if (output && Object.hasOwn(schemas, output)) renamed.set(name, output)
  }
  // A pair whose schemas refer to a pair kept apart is itself apart: drop pairs until none is dropped.
  for (let dropped = true; dropped; ) {
    dropped = false
    for (const [input, output] of renamed) {
      if (sameSchema(schemas[input], schemas[output], renamed)) continue
      renamed.delete(input)
      dropped = true
    }
  }
  return renamed
}

type Node = Record<string, unknown>
const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The reference with a renamed schema's new name; any other value as it is. */
function renameRef(reference: unknown, renamed: Map<string, string>): unknown {
  if (typeof reference !== 'string' || !reference.startsWith(SCHEMA_REF)) return reference
  const output = renamed.get(reference.slice(SCHEMA_REF.length))
  return output ? SCHEMA_REF + output : reference
}

/** Equal as JSON, ignoring `additionalProperties: false` and counting `XInput` and `X` refs as one. */
function sameSchema(left: unknown, right: unknown, renamed: Map<string, string>): boolean {
  if (Array.isArray(left) || Array.isArray(right)) {
    return (
      Array.isArray(left) &&
      Array.isArray(right) &&
      left.length === right.length &&
      left.every((item, index) => sameSchema(item, right[index], renamed))
    )
  }
  if (!isNode(left) || !isNode(right)) return left === right
  const keysOf = (node: Node) =>
    Object.keys(node).filter(
      (key) => node[key] !== undefined && !(key === 'additionalProperties' && node[key] === false),
    )
  const [leftKeys, rightKeys] = [keysOf(left), keysOf(right)]
  return (
    leftKeys.length === rightKeys.length &&
    leftKeys.every((key) =>
      key === '$ref' && typeof left[key] === 'string'
        ? renameRef(left[key], renamed) === renameRef(right[key], renamed)
        : rightKeys.includes(key) && sameSchema(left[key], right[key], renamed),
    )
  )
}

/** A copy of the tree with every `$ref` to a renamed schema pointing at its new name. */
function rewriteRefs(value: unknown, renamed: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, renamed))
  if (!isNode(value)) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string' ? renameRef(item, renamed) : rewriteRefs(item, renamed),
    ]),
  )
}
