import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { serverHoldingStore } from '../../src/cli/store-holder.js'

let directory: string
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'store-holder-'))
})
afterEach(() => rm(directory, { recursive: true, force: true }))

const record = (content: string) => writeFile(join(directory, '.server.json'), content)

/** The pid of a process that has ended. */
async function endedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  return child.pid as number
}

describe('serverHoldingStore', () => {
  it('names the running server a record names', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
    const exited = once(child, 'exit')
    try {
      await record(JSON.stringify({ pid: child.pid, url: 'http://127.0.0.1:8000' }))
      expect(await serverHoldingStore(directory)).toEqual({ pid: child.pid, url: 'http://127.0.0.1:8000' })
    } finally {
      child.kill()
      await exited
    }
  })

  it('is undefined without a record', async () => {
    expect(await serverHoldingStore(directory)).toBeUndefined()
  })

  it('is undefined when the recorded process has ended', async () => {
    await record(JSON.stringify({ pid: await endedPid(), url: 'http://127.0.0.1:8000' }))
    expect(await serverHoldingStore(directory)).toBeUndefined()
  })

  it('is undefined when the record names this very process (a stale record from another container)', async () => {
    await record(JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:8000' }))
    expect(await serverHoldingStore(directory)).toBeUndefined()
  })

  it.each([
    ['not JSON', '{"pid": 12'],
    ['no url', JSON.stringify({ pid: 1 })],
    ['a pid that is not a positive integer', JSON.stringify({ pid: -1, url: 'http://x' })],
    ['null', 'null'],
  ])('is undefined for a record that is %s', async (_name, content) => {
    await record(content)
    expect(await serverHoldingStore(directory)).toBeUndefined()
  })
})
