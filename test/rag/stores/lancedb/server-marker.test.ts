import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  markServer,
  runningServer,
  SERVER_MARKER_FILE,
  unmarkServer,
} from '../../../../src/rag/stores/lancedb/server-marker.js'

/** The id of a process that has exited. */
async function goneProcessId(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  return child.pid as number
}

describe('the running-server marker', () => {
  let directory: string
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'server-marker-'))
  })
  afterEach(() => rm(directory, { recursive: true, force: true }))

  it('names no server when the folder has no marker, or does not exist', async () => {
    expect(await runningServer(directory)).toBeUndefined()
    expect(await runningServer(join(directory, 'missing'))).toBeUndefined()
  })

  it('names this process and its URL once marked, and none once unmarked', async () => {
    await markServer(directory, 'http://127.0.0.1:8000')
    expect(await runningServer(directory)).toEqual({ pid: process.pid, url: 'http://127.0.0.1:8000' })
    await unmarkServer(directory)
    expect(await runningServer(directory)).toBeUndefined()
  })

  it('names no server when the marked process is gone (a server killed with SIGKILL)', async () => {
    const pid = await goneProcessId()
    await writeFile(join(directory, SERVER_MARKER_FILE), JSON.stringify({ pid, url: 'http://127.0.0.1:1' }))
    expect(await runningServer(directory)).toBeUndefined()
  })

  it('leaves the marker of another server in place on unmark', async () => {
    const marker = JSON.stringify({ pid: process.ppid, url: 'http://127.0.0.1:9' })
    await writeFile(join(directory, SERVER_MARKER_FILE), marker)
    await unmarkServer(directory)
    expect(await readFile(join(directory, SERVER_MARKER_FILE), 'utf8')).toBe(marker)
    expect(await runningServer(directory)).toEqual({ pid: process.ppid, url: 'http://127.0.0.1:9' })
  })

  it('names no server from a marker that is not one', async () => {
    for (const text of ['', 'not json', 'null', '{"pid": "1", "url": "x"}', '{"pid": 0, "url": "x"}']) {
      await writeFile(join(directory, SERVER_MARKER_FILE), text)
      expect(await runningServer(directory), text).toBeUndefined()
    }
  })
})
