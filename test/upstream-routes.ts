/**
 * Every route that calls an upstream, as the whole-app checks drive them (the secret storm in
 * secrets.test.ts, the bounds in upstream-bounds.test.ts): /rag and /documents once per upstream call
 * they make.
 */

/** A route that calls an upstream, and how to call it. */
export interface Route {
  name: string
  method: 'GET' | 'POST'
  path: string
  /** The JSON body; `tag` makes texts unique, so no cache answers in place of the upstream. */
  body?: (tag: string) => object
  upstream: 'openai' | 'ollama'
  /** Which OpenAI call the failure is scripted on (the other one succeeds). */
  failing?: 'responses' | 'embeddings'
}

const question = (tag: string) => `How does sourdough bread rise? ${tag}`

export const OPENAI_ROUTES: Route[] = [
  {
    name: 'POST /chat',
    method: 'POST',
    path: '/chat',
    body: () => ({ messages: [{ role: 'user', content: 'hi' }] }),
    upstream: 'openai',
  },
  { name: 'POST /safe', method: 'POST', path: '/safe?prompt=hi', upstream: 'openai' },
  { name: 'GET /stream', method: 'GET', path: '/stream?prompt=hi', upstream: 'openai' },
  {
    name: 'POST /stream',
    method: 'POST',
    path: '/stream',
    body: () => ({ prompt: 'hi' }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag (the answer)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag) }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag stream (the answer)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag), stream: true }),
    upstream: 'openai',
  },
  {
    name: 'POST /rag (the question’s embedding)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag) }),
    upstream: 'openai',
    failing: 'embeddings',
  },
  {
    name: 'POST /rag stream (the question’s embedding)',
    method: 'POST',
    path: '/rag',
    body: (tag) => ({ query: question(tag), stream: true }),
    upstream: 'openai',
    failing: 'embeddings',
  },
  {
    name: 'POST /documents (OpenAI embeddings)',
    method: 'POST',
    path: '/documents',
    body: (tag) => ({ documents: [{ text: `Rye bread ferments slowly in a cold kitchen. ${tag}` }] }),
    upstream: 'openai',
    failing: 'embeddings',
  },
]
/** The OpenAI routes that stream the answer. */
export const OPENAI_STREAM_ROUTES = OPENAI_ROUTES.filter(
  (route) =>
    route.path.startsWith('/stream') || (route.name.startsWith('POST /rag stream') && !route.failing),
)
export const OLLAMA_ROUTES: Route[] = [
  { name: 'POST /local-chat', method: 'POST', path: '/local-chat?prompt=hi', upstream: 'ollama' },
  { name: 'POST /local-stream', method: 'POST', path: '/local-stream?prompt=hi', upstream: 'ollama' },
]
