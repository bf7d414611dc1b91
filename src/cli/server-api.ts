/**
 * `--url`: documents stored through a running server's `POST /documents`, so that the server is the one
 * writer of its store and sees every document at once.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { DocumentInput, IngestResult } from '../rag/ingest.js'
import type { DocumentOutcome } from '../rag/ingest-files.js'

/** Nothing more can be stored (the server is unreachable, or refuses the key): the run stops. */
export class StopIngestion extends Error {
  override name = 'StopIngestion'
}

/**
 * The largest request body sent: under the server's default INGEST_BODY_LIMIT_BYTES (10 MiB) with room
 * to spare. A batch past it is split; a lone document past the server's own limit is refused (413).
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024

/** How often a batch answered 429 is sent again, and the longest wait between two sends. */
const RATE_LIMITED_ATTEMPTS = 5
const MAX_RETRY_WAIT_MS = 30_000

interface WireResult {
  id: string
  status: IngestResult['status']
  chunks: number
  embedded: number
  from_cache: number
}

/**
 * Stores a batch through `POST <baseUrl>/documents` (`http://host:8000`), with `key` as a bearer token
 * when given: one outcome per document; rejects with StopIngestion when no batch can be stored.
 */
export function serverApi(
  baseUrl: string,
  key: string | undefined,
): (documents: DocumentInput[]) => Promise<DocumentOutcome[]> {
  const endpoint = `${baseUrl.replace(/\/+$/, '')}/documents`
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key) headers.authorization = `Bearer ${key}`

  async function send(documents: DocumentInput[], attempt = 1): Promise<DocumentOutcome[]> {
    const body = JSON.stringify({ documents })
    if (documents.length > 1 && Buffer.byteLength(body) > MAX_REQUEST_BYTES) return split(documents)
    let response: Response
    try {
      response = await fetch(endpoint, { method: 'POST', headers, body })
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? String(error)
      throw new StopIngestion(`Cannot reach the server at ${baseUrl}: ${cause}`)
    }
    const answer = await response.json().catch(() => undefined)
    if (response.ok) {
      const results = (answer as { results?: WireResult[] } | undefined)?.results
      if (Array.isArray(results) && results.length === documents.length) return results.map(toIngestResult)
      throw new StopIngestion(
        `${endpoint} answered ${response.status} without the expected results: is --url this API's address?`,
      )
    }
    const detail = detailOf(answer) ?? (response.statusText || 'no detail')
    if (response.status === 401 || response.status === 403) {
      throw new StopIngestion(
        `The server at ${baseUrl} refused: ${detail}. POST /documents needs an API key of scope admin ` +
          '(--key, or GENAI_API_KEY in the environment).',
      )
    }
    if (response.status === 404) {
      throw new StopIngestion(`${endpoint} does not exist (${detail}): is --url this API's address?`)
    }
    // Too large, or invalid: halves until the documents at fault are alone, so each is reported.
    if ((response.status === 413 || response.status === 422) && documents.length > 1) return split(documents)
    if (response.status === 429 && attempt < RATE_LIMITED_ATTEMPTS) {
      await sleep(retryWaitMs(response.headers.get('retry-after'), attempt))
      return send(documents, attempt + 1)
    }
    return documents.map(() => ({ error: `${response.status}: ${detail}` }))
  }

  async function split(documents: DocumentInput[]): Promise<DocumentOutcome[]> {
    const half = Math.ceil(documents.length / 2)
    return [...(await send(documents.slice(0, half))), ...(await send(documents.slice(half)))]
  }

  return (documents) => send(documents)
}

function toIngestResult(result: WireResult): IngestResult {
  const { from_cache: fromCache, ...rest } = result
  return { ...rest, fromCache }
}

/**
 * The server's `detail`: a string, or FastAPI's list of issues, each shown as `<field>: <message>` with
 * the field named inside its document (`text`, not `body.documents.0.text`: the file is named already).
 */
function detailOf(answer: unknown): string | undefined {
  const detail = (answer as { detail?: unknown } | undefined)?.detail
  if (typeof detail === 'string') return detail
  if (!Array.isArray(detail)) return undefined
  return detail
    .map((issue: { loc?: (string | number)[]; msg?: string }) => {
      const loc = issue.loc ?? []
      const field = (loc[1] === 'documents' ? loc.slice(3) : loc.slice(1)).join('.')
      return field ? `${field}: ${issue.msg}` : String(issue.msg)
    })
    .join('; ')
}

/** Retry-After in seconds when the server gives it, else 1 s doubling; never past MAX_RETRY_WAIT_MS. */
function retryWaitMs(retryAfter: string | null, attempt: number): number {
  const seconds = Number(retryAfter)
  const wait = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000 * 2 ** (attempt - 1)
  return Math.min(wait, MAX_RETRY_WAIT_MS)
}
