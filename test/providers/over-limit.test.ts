import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { OverLimitError, readAtMost } from '../../src/providers/over-limit.js'

describe('readAtMost', () => {
  it('reads a whole body of exactly the bound', async () => {
    const body = Readable.from([Buffer.from('{"a":'), Buffer.from('1}')])
    expect((await readAtMost(body, 7, 'an answer')).toString()).toBe('{"a":1}')
  })

  it('rejects with OverLimitError and destroys the body as soon as it passes the bound', async () => {
    const body = new PassThrough()
    const read = readAtMost(body, 1024, 'an answer')
    body.write(Buffer.alloc(1024))
    body.write(Buffer.alloc(1))
    await expect(read).rejects.toEqual(new OverLimitError('an answer', 1024))
    expect(body.destroyed).toBe(true)
  })

  it('rejects with the error of a body that fails', async () => {
    const body = new PassThrough()
    const read = readAtMost(body, 1024, 'an answer')
    body.destroy(new Error('socket hang up'))
    await expect(read).rejects.toThrow('socket hang up')
  })

  it('rejects when the body is destroyed before its end, without an error', async () => {
    const body = new PassThrough()
    const read = readAtMost(body, 1024, 'an answer')
    body.write('partial')
    body.destroy()
    await expect(read).rejects.toThrow('the body closed before its end')
  })
})
