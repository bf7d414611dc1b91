import { readFileSync } from 'node:fs'

/**
 * Every operation of the app, read from the committed OpenAPI document (test/openapi.test.ts keeps it
 * equal to what the app serves), so a new route is fuzzed without anyone listing it here.
 */
export interface Operation {
  method: string
  /** The path template, e.g. `/documents/{id}`. */
  path: string
  /** Names of its query parameters. */
  query: string[]
  /** Names of its path parameters. */
  params: string[]
  /** A valid JSON body to mutate (the schema's example), when the operation takes one. */
  example?: unknown
  /** Names of the body's top-level fields, to set to generated values. */
  fields: string[]
}

interface Document {
  paths: Record<string, Record<string, OpenApiOperation>>
  components: { schemas: Record<string, { example?: unknown; properties?: Record<string, unknown> }> }
}
interface OpenApiOperation {
  parameters?: { name: string; in: string }[]
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> }
}

const document: Document = JSON.parse(
  readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'),
)

export const OPERATIONS: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => {
    const parameters = operation.parameters ?? []
    const named = (place: string) => parameters.filter((p) => p.in === place).map((p) => p.name)
    const reference = operation.requestBody?.content['application/json']?.schema.$ref
    const schema = reference ? document.components.schemas[reference.split('/').at(-1) ?? ''] : undefined
    if (operation.requestBody && schema?.example === undefined) {
      // The body's example is the seed of every mutated body: without one the route would go unfuzzed.
      throw new Error(`${method} ${path}: its request body schema needs an example`)
    }
    return {
      method: method.toUpperCase(),
      path,
      query: named('query'),
      params: named('path'),
      example: schema?.example,
      fields: Object.keys(schema?.properties ?? {}),
    }
  }),
)

/** Operations as `it.each` rows, each named e.g. `POST /chat`. */
export const rows = (operations: Operation[]) =>
  operations.map((operation) => [`${operation.method} ${operation.path}`, operation] as const)
