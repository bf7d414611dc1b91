/** Writes the OpenAPI document the server serves at /openapi.json to openapi/openapi.json. */
import { writeFile } from 'node:fs/promises'
import { buildApp } from '../src/app.js'
import { parseConfig } from '../src/config.js'

export const OPENAPI_PATH = new URL('../openapi/openapi.json', import.meta.url)

/** The document as served, built from defaults so the environment cannot change it. */
export async function renderOpenApi(): Promise<string> {
  const app = await buildApp(parseConfig({}))
  await app.ready()
  const document = app.swagger()
  await app.close()
  return `${JSON.stringify(document, null, 2)}\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(OPENAPI_PATH, await renderOpenApi())
  console.log(`wrote ${OPENAPI_PATH.pathname}`)
}
