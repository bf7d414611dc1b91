import { readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { PAGE_CSP, PAGE_ROOT } from '../../src/plugins/page.js'
import { KEYS_ENVIRONMENT } from '../access-keys.js'
import { openTestApp, testConfig } from '../helpers.js'

describe('the chat page', () => {
  it('is served at / as HTML with its own CSP, and the page headers', async () => {
    const { app } = await openTestApp(testConfig())
    const response = await app.inject({ url: '/' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).toContain('<script type="module" src="/app.js"></script>')
    expect(response.headers['content-security-policy']).toBe(PAGE_CSP)
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin')
    expect(response.headers['x-content-type-options']).toBe('nosniff')
  })

  it('serves every file of public/ with the page CSP, as the types browsers need', async () => {
    const { app } = await openTestApp(testConfig())
    const files = await readdir(PAGE_ROOT)
    expect(files.sort()).toEqual(['api.js', 'app.js', 'index.html', 'stream-reader.js', 'style.css'])
    for (const file of files) {
      const response = await app.inject({ url: `/${file}` })
      expect(response.statusCode, file).toBe(200)
      expect(response.headers['content-security-policy'], file).toBe(PAGE_CSP)
    }
    expect((await app.inject({ url: '/app.js' })).headers['content-type']).toBe(
      'application/javascript; charset=utf-8',
    )
    expect((await app.inject({ url: '/style.css' })).headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('leaves unknown paths to the API: a JSON 404 with the API CSP', async () => {
    const { app } = await openTestApp(testConfig())
    const response = await app.inject({ url: '/nowhere.js' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ detail: 'Not Found' })
    expect(response.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
  })

  it('is open while the docs are, and needs a key when AUTH_OPEN_DOCS=false', async () => {
    const open = await openTestApp(testConfig(KEYS_ENVIRONMENT))
    expect((await open.app.inject({ url: '/' })).statusCode).toBe(200)
    const closed = await openTestApp(testConfig({ ...KEYS_ENVIRONMENT, AUTH_OPEN_DOCS: 'false' }))
    expect((await closed.app.inject({ url: '/' })).statusCode).toBe(401)
    expect(closed.app.routeAccess().filter((route) => route.url === '/' || route.url === '/app.js')).toEqual([
      { method: 'HEAD,GET', url: '/app.js', scope: 'docs' },
      { method: 'HEAD,GET', url: '/', scope: 'docs' },
    ])
  })

  it('is not served with PAGE_ENABLED=false: no route, a 404', async () => {
    const { app } = await openTestApp(testConfig({ PAGE_ENABLED: 'false' }))
    expect((await app.inject({ url: '/' })).statusCode).toBe(404)
    expect((await app.inject({ url: '/app.js' })).statusCode).toBe(404)
    const pageRoutes = ['/', '/index.html', '/app.js', '/api.js', '/stream-reader.js', '/style.css']
    expect(app.routeAccess().filter((route) => pageRoutes.includes(route.url))).toEqual([])
  })
})
