/**
 * Which Ollama client should the server use? The official `ollama` package (fetch underneath) against
 * undici's request() on one keep-alive Agent, both calling the same fake Ollama in its own process.
 * Rounds alternate so both see the same machine; figures are ratios to undici from the same run.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Ollama } from 'ollama'
import { Agent, request } from 'undici'

const ROUNDS = 5
const CALLS = 2_000
const CONCURRENCY = 16

const fake = spawn(
  process.execPath,
  ['--import', 'tsx', new URL('./fake-upstream.ts', import.meta.url).pathname],
  {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const [line] = (await once(fake.stdout, 'data')) as [Buffer]
const host = `http://127.0.0.1:${line.toString().split(' ')[1]?.trim()}`

const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 })
const official = new Ollama({ host })

const clients: Record<string, { chat: () => Promise<unknown>; stream: () => Promise<unknown> }> = {
  undici: {
    chat: async () => {
      const response = await request(`${host}/api/generate`, {
        method: 'POST',
        body: '{"model":"llama3.2","prompt":"hi","stream":false}',
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
      })
      return response.body.json()
    },
    stream: async () => {
      const response = await request(`${host}/api/generate`, {
        method: 'POST',
        body: '{"model":"llama3.2","prompt":"hi","stream":true}',
        headers: { 'content-type': 'application/json' },
        dispatcher: agent,
      })
      let lines = 0
      for await (const chunk of response.body) lines += (chunk as Buffer).toString().split('\n').length
      return lines
    },
  },
  ollama: {
    chat: () => official.generate({ model: 'llama3.2', prompt: 'hi', stream: false }),
    stream: async () => {
      let parts = 0
      for await (const _part of await official.generate({ model: 'llama3.2', prompt: 'hi', stream: true }))
        parts++
      return parts
    },
  },
}

async function run(call: () => Promise<unknown>): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CALLS) await call()
    }),
  )
  return CALLS / ((performance.now() - started) / 1000)
}

const results: Record<string, number[]> = {}
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, client] of Object.entries(clients)) {
    for (const kind of ['chat', 'stream'] as const) {
      const key = `${name} ${kind}`
      results[key] ??= []
      results[key].push(await run(client[kind]))
    }
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
console.log(`calls/s, median of ${ROUNDS} rounds of ${CALLS} calls at concurrency ${CONCURRENCY}`)
for (const kind of ['chat', 'stream']) {
  const baseline = median(results[`undici ${kind}`] ?? [])
  for (const name of Object.keys(clients)) {
    const value = median(results[`${name} ${kind}`] ?? [])
    console.log(
      `${kind.padEnd(6)} ${name.padEnd(7)} ${value.toFixed(0).padStart(7)}  ${(value / baseline).toFixed(2)}x undici`,
    )
  }
}
fake.kill()
await agent.close()
