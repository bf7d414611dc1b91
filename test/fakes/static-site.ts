import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { extname, join, normalize } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/** Answers one path of a static site (a scripted API route beside the files). */
export type SiteHandler = (request: IncomingMessage, response: ServerResponse) => void

export interface StaticSite {
  /** http://127.0.0.1:<port>: the site's origin. */
  origin: string
  close(): Promise<void>
}

/**
 * A small web server on its own loopback port: the files of `folder` (or `pages`, path -> HTML) and
 * the scripted `handlers`. A page on another origin than the API (CORS), or the chat page beside an
 * API that misbehaves in ways the real server does not (a connection cut mid-stream).
 */
export async function startStaticSite(options: {
  folder?: string
  pages?: Record<string, string>
  handlers?: Record<string, SiteHandler>
}): Promise<StaticSite> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname
    const handler = options.handlers?.[path]
    if (handler) return handler(request, response)
    const page = options.pages?.[path]
    if (page !== undefined) return response.writeHead(200, { 'content-type': TYPES['.html'] }).end(page)
    if (options.folder === undefined) return response.writeHead(404).end()
    const file = normalize(path === '/' ? '/index.html' : path)
    try {
      const body = await readFile(join(options.folder, file))
      response
        .writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
        .end(body)
    } catch {
      response.writeHead(404).end()
    }
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}
