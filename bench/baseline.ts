/**
 * The bare baseline the gateway is measured against: the same routes forwarded by a minimal Fastify app
 * with one keep-alive undici pool, no validation, no SDK, no logging — the practical limit for a Node
 * gateway. It does the least work the routes need: parse the upstream JSON and answer the same fields;
 * turn Responses SSE deltas into the same `{"content"}` frames. Prints `listening <port>` when ready.
 */
import Fastify from 'fastify'
import { Agent, request } from 'undici'

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9000'
const dispatcher = new Agent({ keepAliveTimeout: 30_000 })
const app = Fastify({ logger: false })

const post = (path: string, body: object) =>
  request(`${upstream}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher,
  })

interface ChatBody {
  messages: unknown[]
  model?: string
}

app.post('/chat', async (req) => {
  const { messages, model } = req.body as ChatBody
  const { body } = await post('/v1/responses', { model: model ?? 'gpt-5', input: messages, store: false })
  const answer = (await body.json()) as {
    model: string
    output: { type: string; content?: { text: string }[] }[]
  }
  const message = answer.output.find((item) => item.type === 'message')
  return { text: message?.content?.[0]?.text ?? '', model: answer.model }
})

app.post('/stream', async (req, reply) => {
  const { prompt, model } = req.body as { prompt: string; model?: string }
  const { body } = await post('/v1/responses', { model: model ?? 'gpt-5', input: prompt, stream: true })
  reply.hijack()
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  let buffered = ''
  let id = 0
  for await (const chunk of body) {
    buffered += chunk.toString()
    let newline = buffered.indexOf('\n')
    while (newline !== -1) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line.startsWith('data: ') && line.includes('"response.output_text.delta"')) {
        const event = JSON.parse(line.slice(6)) as { delta: string }
        reply.raw.write(`id: ${++id}\ndata: ${JSON.stringify({ content: event.delta })}\n\n`)
      }
      newline = buffered.indexOf('\n')
    }
  }
  reply.raw.end(`id: ${++id}\ndata: {"done":true}\n\n`)
})

app.post('/local-chat', async (req) => {
  const { model, prompt } = req.query as { model?: string; prompt: string }
  const { body } = await post('/api/generate', { model: model ?? 'llama3.2', prompt, stream: false })
  const answer = (await body.json()) as { response: string }
  return { response: answer.response }
})

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
console.log(`listening ${new URL(address).port}`)
