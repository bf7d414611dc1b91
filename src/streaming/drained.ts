import type { Writable } from 'node:stream'

/** Resolves once a full writable can take more, or has closed (then nothing will drain it). */
export function drained(writable: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writable.off('drain', done)
      writable.off('close', done)
      resolve()
    }
    writable.on('drain', done)
    writable.on('close', done)
  })
}
