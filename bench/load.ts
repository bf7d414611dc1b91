/** Load generators for the gateway benchmark: wrk for request/response, a lean Node client for streams. */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Agent, request } from 'undici'

const run = promisify(execFile)

export interface HttpLoad {
  requests: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
}

/** The CPU that load generators (and the fake upstream) are pinned to; the server gets the other. */
export const LOAD_CPU = '1'

function wrkScript(method: string, body: string | undefined, headers: Record<string, string>): string {
  const path = join(tmpdir(), `wrk-${process.pid}-${Math.random().toString(36).slice(2)}.lua`)
  const lines = [`wrk.method = "${method}"`]
  if (body !== undefined) {
    lines.push(`wrk.body = ${JSON.stringify(body)}`, 'wrk.headers["Content-Type"] = "application/json"')
  }
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)
  }
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim())
  if (!match) throw new Error(`unreadable wrk latency ${value}`)
  const number = Number(match[1])
  return match[2] === 'us' ? number / 1000 : match[2] === 's' ? number * 1000 : number
}

/** wrk (C, epoll, one thread): requests/s and latency percentiles for one URL. */
export async function wrk(
  url: string,
  options: { connections: number; seconds: number; body?: string; headers?: Record<string, string> },
): Promise<HttpLoad> {
  const script = wrkScript('POST', options.body, options.headers ?? {})
  const { stdout } = await run('taskset', [
    '-c',
    LOAD_CPU,
    'wrk',
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    '-s',
    script,
    url,
  ])
  const percentile = (label: string) => {
    const match = new RegExp(`^\\s+${label}%\\s+(\\S+)`, 'm').exec(stdout)
    if (!match?.[1]) throw new Error(`wrk printed no ${label}th percentile:\n${stdout}`)
    return toMs(match[1])
  }
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout)
  if (/Non-2xx or 3xx responses/.test(stdout)) throw new Error(`errors under load:\n${stdout}`)
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1])
  return { requests, requestsPerSecond: Number(rate?.[1]), p50Ms: percentile('50'), p99Ms: percentile('99') }
}

export interface StreamLoad {
  streams: number
  streamsPerSecond: number
  /** Time from sending the request to the first `"content"` frame. */
  firstContentP50Ms: number
  firstContentP99Ms: number
}

const percentileOf = (values: number[], fraction: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN
}

/** `concurrency` clients each opening streams back to back for `seconds`. */
export async function streamLoad(
  url: string,
  body: string,
  concurrency: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<StreamLoad> {
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 })
  const firstContent: number[] = []
  let completed = 0
  const deadline = performance.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now()
        const response = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
          dispatcher,
        })
        if (response.statusCode !== 200) throw new Error(`stream answered ${response.statusCode}`)
        let seen = false
        for await (const chunk of response.body) {
          if (!seen && (chunk as Buffer).includes('"content"')) {
            firstContent.push(performance.now() - started)
            seen = true
          }
        }
        completed++
      }
    }),
  )
  await dispatcher.close()
  return {
    streams: completed,
    streamsPerSecond: completed / seconds,
    firstContentP50Ms: percentileOf(firstContent, 0.5),
    firstContentP99Ms: percentileOf(firstContent, 0.99),
  }
}

/** Opens `count` streams on raw sockets and resolves once each has received its first content frame. */
export async function openStreams(url: string, body: string, count: number): Promise<Socket[]> {
  const { hostname, port, pathname } = new URL(url)
  const request =
    `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  const sockets: Socket[] = []
  const opened: Promise<void>[] = []
  for (let index = 0; index < count; index++) {
    const socket = connect(Number(port), hostname)
    sockets.push(socket)
    opened.push(
      new Promise((resolve, reject) => {
        socket.once('error', reject)
        socket.on('data', function onData(chunk: Buffer) {
          if (chunk.includes('"content"')) {
            socket.off('data', onData)
            // Keep reading (and dropping) so the server is never held back by this client.
            socket.on('data', () => {})
            resolve()
          }
        })
      }),
    )
    socket.write(request)
    // Open in waves so the listen backlog never overflows.
    if (index % 200 === 199) await Promise.all(opened.slice(index - 199))
  }
  await Promise.all(opened)
  return sockets
}
