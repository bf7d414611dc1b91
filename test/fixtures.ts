import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Copies of `shared/fixtures/` (real wire formats), kept byte-exact; fixtures.test.ts checks for drift. */
export const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url))

export function readFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
}

export interface RecordedHead {
  status: number
  headers: Record<string, string>
}

/** Parses a `*.headers.txt` fixture: a status line, then `name: value` lines. */
export function readHead(name: string): RecordedHead {
  const [statusLine = '', ...lines] = readFixture(name).trim().split(/\r?\n/)
  const status = Number(statusLine.split(' ')[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status, headers }
}

/** The final `response` object of a Responses SSE fixture: the same body a non-stream call returns. */
export function completedResponseFrom(sseFixture: string): string {
  const events = readFixture(sseFixture)
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)))
  const completed = events.find((event) => event.type === 'response.completed')
  if (!completed) throw new Error(`${sseFixture} has no response.completed event`)
  return `${JSON.stringify(completed.response, null, 2)}\n`
}
