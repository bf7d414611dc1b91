import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DOCUMENT_ONLY_HEADERS } from '../../src/plugins/security-headers.js'
import { sseReply } from '../fakes/openai.js'
import { openTestApp, serveTestApp, testConfig, useFakeOpenAI } from '../helpers.js'

const fake = useFakeOpenAI()

const API_POLICY = "default-src 'none';frame-ancestors 'none'"

/** Helmet's headers every answer carries (the CSP differs between the API and /docs). */
function expectSecurityHeaders(header: (name: string) => string | null | undefined) {
  expect(header('x-content-type-options')).toBe('nosniff')
  expect(header('x-frame-options')).toBe('SAMEORIGIN')
  expect(header('referrer-policy')).toBe('no-referrer')
  expect(header('strict-transport-security')).toMatch(/^max-age=\d+/)
  expect(header('cross-origin-resource-policy')).toBe('same-origin')
}

/** The value of `directive` in a CSP header, as a list of sources. */
function sources(policy: string, directive: string): string[] {
  const found = policy.split(';').find((part) => part.trim().startsWith(`${directive} `))
  return found?.trim().split(/\s+/).slice(1) ?? []
}

describe('security headers', () => {
  it('are on every JSON answer, errors included, with a CSP that allows nothing', async () => {
    const { app } = await openTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url }))
    for (const request of [
      { method: 'POST' as const, url: '/chat', payload: { messages: [{ role: 'user', content: 'hi' }] } },
      { method: 'POST' as const, url: '/chat', payload: {} },
      { method: 'GET' as const, url: '/nowhere' },
    ]) {
      const response = await app.inject(request)
      expectSecurityHeaders((name) => response.headers[name] as string | undefined)
      expect(response.headers['content-security-policy']).toBe(API_POLICY)
      for (const name of DOCUMENT_ONLY_HEADERS) expect(response.headers[name], name).toBeUndefined()
    }
  })

  it('are on streams, which write their own head, over a real socket', async () => {
    fake.upstream.reset(sseReply())
    const { base } = await serveTestApp(testConfig({ OPENAI_BASE_URL: fake.upstream.url }))
    const response = await fetch(`${base}/stream?prompt=hi`)
    await response.text()
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expectSecurityHeaders((name) => response.headers.get(name))
    expect(response.headers.get('content-security-policy')).toBe(API_POLICY)
    for (const name of DOCUMENT_ONLY_HEADERS) expect(response.headers.get(name), name).toBeNull()
  })

  it('leave Swagger UI working: /docs and every asset it names load, under a CSP that allows them', async () => {
    const { app } = await openTestApp(testConfig())
    const page = await app.inject({ url: '/docs/' })
    expect(page.statusCode).toBe(200)
    expectSecurityHeaders((name) => page.headers[name] as string | undefined)
    // A page gets the headers that concern pages too.
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin')
    expect(page.headers['x-dns-prefetch-control']).toBe('off')
    expect(page.headers['origin-agent-cluster']).toBe('?1')
    const policy = String(page.headers['content-security-policy'])
    expect(policy).not.toContain('upgrade-insecure-requests')
    expect(sources(policy, 'script-src')).toContain("'self'")
    expect(sources(policy, 'style-src')).toContain("'self'")
    expect(sources(policy, 'default-src')).toEqual(["'self'"])

    // Every inline script and style must be allowed by its hash; every asset must be ours ('self').
    for (const [, tag, body] of page.body.matchAll(/<(script|style)\b[^>]*>([\s\S]*?)<\/\1>/g)) {
      if (!body?.trim()) continue
      const hash = `'sha256-${createHash('sha256').update(body).digest('base64')}'`
      expect(sources(policy, `${tag}-src`)).toContain(hash)
    }
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string)
    expect(assets.length).toBeGreaterThanOrEqual(4)
    for (const asset of assets) {
      expect(asset).toMatch(/^\.\/static\//)
      const response = await app.inject({ url: `/docs/${asset.slice(2)}` })
      expect(response.statusCode, asset).toBe(200)
    }
    const initializer = await app.inject({ url: '/docs/static/swagger-initializer.js' })
    expect(initializer.statusCode).toBe(200)
    // The UI fetches the document from this server: allowed by default-src 'self'.
    const specification = await app.inject({ url: '/docs/json' })
    expect(specification.statusCode).toBe(200)
  })
})
