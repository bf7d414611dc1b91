import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { expect, it, onTestFinished } from 'vitest'
import { RateLimitedError } from '../../../src/errors.js'
import { RATE_LIMIT_REDIS_PREFIX } from '../../../src/plugins/limits/rate-limit.js'
import { RedisFailures } from '../../../src/plugins/limits/redis-failures.js'
import {
  RedisStreamSlots,
  STREAM_SLOTS_REDIS_PREFIX,
} from '../../../src/plugins/limits/redis-stream-slots.js'
import type { StreamLease } from '../../../src/streaming/stream-slots.js'
import { emptyDocumentStore } from '../../fakes/document-store.js'
import { sseReply } from '../../fakes/openai.js'
import { openTestApp, testConfig, useFakeOpenAI } from '../../helpers.js'
import { describeWithRedis, startRedis, useRedis } from '../../redis-server.js'
import { waitFor } from '../../wait-for.js'

const context = useFakeOpenAI()

const chat = (app: FastifyInstance) =>
  app.inject({ method: 'POST', url: '/chat', payload: { messages: [{ role: 'user', content: 'hi' }] } })

describeWithRedis('limits in Redis', () => {
  const shared = useRedis()

  /** A connected Redis client of the test's own (as an instance's), closed after it. */
  async function client(): Promise<Redis> {
    const connection = new Redis(shared.redis.url, { enableOfflineQueue: false, lazyConnect: true })
    onTestFinished(() => connection.disconnect())
    await connection.connect()
    return connection
  }

  const failuresFor = (app?: FastifyInstance) =>
    new RedisFailures(app?.log ?? (console as unknown as FastifyInstance['log']), 'open')

  async function instance(environment: Record<string, string> = {}) {
    const config = testConfig({
      OPENAI_BASE_URL: context.upstream.url,
      REDIS_URL: shared.redis.url,
      ...environment,
    })
    return openTestApp(config)
  }

  it('two instances enforce one request limit together', async () => {
    const [first, second] = [await instance({ RATE_LIMIT_MAX: '5' }), await instance({ RATE_LIMIT_MAX: '5' })]
    const statuses: number[] = []
    for (let index = 0; index < 10; index++) {
      statuses.push((await chat(index % 2 === 0 ? first.app : second.app)).statusCode)
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(5)
    expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429])
    expect(await shared.admin.keys('genai:rate:*')).toEqual(['genai:rate:ip:127.0.0.1'])
  })

  it('two instances share the stream slots: the limit holds across both, a release frees one', async () => {
    const [first, second] = [
      new RedisStreamSlots(await client(), failuresFor()),
      new RedisStreamSlots(await client(), failuresFor()),
    ]
    const a = await first.acquire('ip:10.0.0.1', 2)
    await second.acquire('ip:10.0.0.1', 2)
    await expect(first.acquire('ip:10.0.0.1', 2)).rejects.toBeInstanceOf(RateLimitedError)
    await expect(second.acquire('ip:10.0.0.2', 2)).resolves.toBeDefined()
    a.release()
    await waitFor(async () => (await shared.admin.zcard(`${STREAM_SLOTS_REDIS_PREFIX}ip:10.0.0.1`)) === 1)
    await expect(second.acquire('ip:10.0.0.1', 2)).resolves.toBeDefined()
  })

  it("a crashed instance's leases expire: its slots come back without it", async () => {
    const crashed = await client()
    await new RedisStreamSlots(crashed, failuresFor(), { leaseMs: 300 }).acquire('ip:10.0.0.3', 1)
    crashed.disconnect() // never releases, never renews
    const survivor = new RedisStreamSlots(await client(), failuresFor(), { leaseMs: 300 })
    await expect(survivor.acquire('ip:10.0.0.3', 1)).rejects.toBeInstanceOf(RateLimitedError)
    await waitFor(async () => (await shared.admin.zcard(`${STREAM_SLOTS_REDIS_PREFIX}ip:10.0.0.3`)) === 0)
    await expect(survivor.acquire('ip:10.0.0.3', 1)).resolves.toBeDefined()
  })

  it('renews every lease the instance holds before it expires, and stops once none is held', async () => {
    const slots = new RedisStreamSlots(await client(), failuresFor(), { leaseMs: 300 })
    const leases = [await slots.acquire('ip:10.0.0.4', 1), await slots.acquire('ip:10.0.0.5', 2)]
    onTestFinished(() => {
      for (const lease of leases) lease.release()
    })
    const expiries = await Promise.all(
      ['ip:10.0.0.4', 'ip:10.0.0.5'].map(async (client) => {
        const key = `${STREAM_SLOTS_REDIS_PREFIX}${client}`
        const [member, expiry] = await shared.admin.zrange(key, 0, 0, 'WITHSCORES')
        return { key, member: member as string, expiry: Number(expiry) }
      }),
    )
    await waitFor(async () => {
      const scores = await Promise.all(expiries.map(({ key, member }) => shared.admin.zscore(key, member)))
      return scores.every((score, index) => Number(score) > (expiries[index]?.expiry ?? Infinity))
    })
    expect(slots.held).toBe(2)
    for (const lease of leases) lease.release()
    expect(slots.held).toBe(0)
  })

  /** The commands clients send to Redis from now on (not those scripts run), as argument lists. */
  async function watchCommands(): Promise<string[][]> {
    const monitor = await shared.admin.monitor()
    onTestFinished(() => monitor.disconnect())
    const commands: string[][] = []
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(args)
    })
    return commands
  }

  /** The lease ids `client` holds in Redis. */
  const leasesOf = (client: string) => shared.admin.zrange(`${STREAM_SLOTS_REDIS_PREFIX}${client}`, 0, -1)

  it("a release takes no command of its own: the instance's next acquire removes the lease first", async () => {
    const slots = new RedisStreamSlots(await client(), failuresFor(), { releaseDelayMs: 60_000 })
    const lease = await slots.acquire('ip:10.0.0.6', 1)
    const [released] = await leasesOf('ip:10.0.0.6')
    const commands = await watchCommands()
    lease.release()
    // At the client's limit of 1: admitted only because the release went first, in the same script.
    await slots.acquire('ip:10.0.0.6', 1)
    const [held] = await leasesOf('ip:10.0.0.6')
    expect(held).not.toBe(released)
    const mentioning = commands.filter((args) => args.includes(released as string))
    expect(mentioning).toHaveLength(1)
    expect(mentioning[0]?.[0]?.toLowerCase()).toMatch(/^evalsha$|^eval$/)
    expect(mentioning[0]).toContain(`${STREAM_SLOTS_REDIS_PREFIX}ip:10.0.0.6`)
    expect(mentioning[0]).toContain(held)
  })

  it('releases no acquire follows are removed after the release delay, all in one command', async () => {
    const slots = new RedisStreamSlots(await client(), failuresFor(), { releaseDelayMs: 50 })
    const leases: StreamLease[] = [
      await slots.acquire('ip:10.0.0.7', 2),
      await slots.acquire('ip:10.0.0.8', 2),
    ]
    const ids = [...(await leasesOf('ip:10.0.0.7')), ...(await leasesOf('ip:10.0.0.8'))]
    const commands = await watchCommands()
    for (const lease of leases) lease.release()
    await waitFor(
      async () => (await leasesOf('ip:10.0.0.7')).length + (await leasesOf('ip:10.0.0.8')).length === 0,
    )
    const mentioning = commands.filter((args) => ids.some((id) => args.includes(id)))
    // EVALSHA, and EVAL when the script was not loaded yet: the same one command.
    expect(mentioning.length).toBeGreaterThan(0)
    for (const args of mentioning) expect(args).toEqual(expect.arrayContaining(ids))
    expect(new Set(mentioning.map((args) => args.slice(2).join(' '))).size).toBe(1)
  })

  it('a shutdown gives back the slots released by its streams at once, before the connection quits', async () => {
    const { app } = await instance({ STREAMS_PER_CLIENT: '2' })
    const lease = await app.limits.streamSlots?.acquire('ip:10.0.0.9', 2)
    expect(await leasesOf('ip:10.0.0.9')).toHaveLength(1)
    lease?.release()
    await app.close()
    expect(await leasesOf('ip:10.0.0.9')).toEqual([])
  })

  it('a release Redis cannot take is logged, and its lease expires by itself', async () => {
    const doomed = await startRedis()
    onTestFinished(() => doomed.stop())
    const connection = new Redis(doomed.url, { enableOfflineQueue: false, lazyConnect: true })
    onTestFinished(() => connection.disconnect())
    await connection.connect()
    const warnings: string[] = []
    const log = { warn: (_details: unknown, message: string) => warnings.push(message) }
    const failures = new RedisFailures(log as unknown as FastifyInstance['log'], 'open')
    const slots = new RedisStreamSlots(connection, failures, { releaseDelayMs: 60_000 })
    const lease = await slots.acquire('ip:10.0.0.10', 1)
    await doomed.stop()
    lease.release()
    await slots.flushReleases()
    expect(warnings).toEqual(['Redis unreachable: a stream lease could not be removed'])
    expect(slots.held).toBe(0)
  })

  const slotSet = (client: string) => `${STREAM_SLOTS_REDIS_PREFIX}${client}`

  it("a stream's request makes one round trip for its rate count and its slot", async () => {
    // Resumption off: its log in Redis would add its own commands (XADD, SUBSCRIBE) to those watched here.
    const { app } = await instance({ RATE_LIMIT_MAX: '10', STREAMS_PER_CLIENT: '2', STREAM_RESUME: 'false' })
    context.upstream.reset(sseReply())
    const commands = await watchCommands()
    const stream = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(stream.statusCode).toBe(200)
    expect(stream.headers['ratelimit-remaining']).toBe('9')
    // The scripts the instance ran naming `key`, each once (EVALSHA, and EVAL when the script was not
    // loaded yet, are the same command).
    const scriptsOn = (key: string) => [
      ...new Set(
        commands
          .filter((args) => /^eval(sha)?$/i.test(args[0] ?? '') && args.includes(key))
          .map((args) => args.slice(2).join(' ')),
      ),
    ]
    // The count's command, then the release's (the instance made no other acquire to carry it).
    await waitFor(() => scriptsOn(slotSet('ip:127.0.0.1')).length === 2, { timeout: 10_000 })
    const [counting, ...others] = scriptsOn(`${RATE_LIMIT_REDIS_PREFIX}ip:127.0.0.1`)
    expect(others).toEqual([])
    expect(scriptsOn(slotSet('ip:127.0.0.1'))[0]).toBe(counting)
    await waitFor(async () => (await shared.admin.zcard(slotSet('ip:127.0.0.1'))) === 0, { timeout: 10_000 })
  })

  it('a request refused by the rate takes no slot, and its 429 carries the RateLimit headers', async () => {
    const { app } = await instance({ RATE_LIMIT_MAX: '1', STREAMS_PER_CLIENT: '2' })
    context.upstream.reset(sseReply())
    expect((await app.inject({ method: 'GET', url: '/stream?prompt=hi' })).statusCode).toBe(200)
    await waitFor(
      () => app.limits.streamSlots instanceof RedisStreamSlots && app.limits.streamSlots.held === 0,
    )
    const refused = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(refused.statusCode).toBe(429)
    expect(refused.json().detail).toMatch(
      /^Too many requests: 1 requests per 60 s for this client; retry in /,
    )
    expect(refused.headers['ratelimit-limit']).toBe('1')
    expect(refused.headers['ratelimit-remaining']).toBe('0')
    expect(refused.headers['retry-after']).toMatch(/^\d+$/)
    expect((app.limits.streamSlots as RedisStreamSlots).held).toBe(0)
    expect(await shared.admin.zcard(slotSet('ip:127.0.0.1'))).toBe(0)
  })

  it('a request to resume a stream takes no slot', async () => {
    const { app } = await instance({ STREAMS_PER_CLIENT: '1' })
    const resumed = await app.inject({
      method: 'GET',
      url: '/stream?prompt=hi',
      headers: { 'last-event-id': 'AAAAAAAAAAAAAAAAAAAAAA:3' },
    })
    expect(resumed.statusCode).toBe(410)
    expect((app.limits.streamSlots as RedisStreamSlots).held).toBe(0)
    expect(await shared.admin.zcard(slotSet('ip:127.0.0.1'))).toBe(0)
  })

  it('closing gives back the slots reserved that no stream took, and the released leases, at once', async () => {
    const slots = new RedisStreamSlots(await client(), failuresFor(), {
      releaseDelayMs: 60_000,
      reservationMs: 60_000,
    })
    const rate = { key: `${RATE_LIMIT_REDIS_PREFIX}ip:10.0.0.11`, windowMs: 60_000, max: 10 }
    await slots.countAndReserve(rate, 'ip:10.0.0.11', 2)
    ;(await slots.acquire('ip:10.0.0.12', 2)).release()
    expect(await shared.admin.zcard(slotSet('ip:10.0.0.11'))).toBe(1)
    expect(await shared.admin.zcard(slotSet('ip:10.0.0.12'))).toBe(1)
    await slots.close()
    expect(await shared.admin.zcard(slotSet('ip:10.0.0.11'))).toBe(0)
    expect(await shared.admin.zcard(slotSet('ip:10.0.0.12'))).toBe(0)
    expect(slots.held).toBe(0)
  })

  it('a slot taken for a request that opens no stream after all (a 422) is given back', async () => {
    const { app } = await instance({ STREAMS_PER_CLIENT: '1' })
    const invalid = await app.inject({ method: 'POST', url: '/stream', payload: { prompt: 42 } })
    expect(invalid.statusCode).toBe(422)
    await waitFor(async () => (await shared.admin.zcard(slotSet('ip:127.0.0.1'))) === 0, { timeout: 5_000 })
    expect((app.limits.streamSlots as RedisStreamSlots).held).toBe(0)
  })

  it('a stream refused by the shared count is a 429 before any upstream call', async () => {
    const { app } = await instance({ STREAMS_PER_CLIENT: '1' })
    // Another instance holds this client's one slot.
    await new RedisStreamSlots(await client(), failuresFor()).acquire('ip:127.0.0.1', 1)
    const received = context.upstream.received.length
    const response = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(response.statusCode).toBe(429)
    expect(response.headers['retry-after']).toBe('1')
    expect(context.upstream.received.length).toBe(received)
  })
})

describeWithRedis('Redis going away', () => {
  it('fail open (the default): requests and streams are served, the failure is counted and logged once', async () => {
    const doomed = await startRedis()
    onTestFinished(() => doomed.stop())
    const { app, logs, logText } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: context.upstream.url, REDIS_URL: doomed.url, RATE_LIMIT_MAX: '2' }),
      { store: emptyDocumentStore() },
    )
    expect((await chat(app)).statusCode).toBe(200)
    await doomed.stop()
    const statuses = [
      (await chat(app)).statusCode,
      (await chat(app)).statusCode,
      (await chat(app)).statusCode,
    ]
    expect(statuses).toEqual([200, 200, 200])
    context.upstream.reset(sseReply())
    const stream = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(stream.statusCode).toBe(200)
    // Three rate checks, and the stream's rate check and slot.
    expect(app.limits.redis?.failures.count).toBe(5)
    // Failing open, Redis is no reason to leave the rotation.
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(200)
    expect(Object.keys(ready.json().checks)).toEqual(['config', 'documents'])
    const warnings = logs.filter((line) => String(line.msg).startsWith('Redis unreachable: the request rate'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 40, policy: 'open' })
    expect(logText()).not.toContain(doomed.url)
  })

  it('fail closed: 503 {"detail"} while Redis is away', async () => {
    const doomed = await startRedis()
    onTestFinished(() => doomed.stop())
    const { app } = await openTestApp(
      testConfig({
        OPENAI_BASE_URL: context.upstream.url,
        REDIS_URL: doomed.url,
        RATE_LIMIT_REDIS_FAILURE: 'closed',
      }),
      { store: emptyDocumentStore() },
    )
    await doomed.stop()
    const response = await chat(app)
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ detail: 'Rate limits cannot be checked right now; retry later' })
    const stream = await app.inject({ method: 'GET', url: '/stream?prompt=hi' })
    expect(stream.statusCode).toBe(503)
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json().checks).toEqual({
      config: 'ok',
      documents: 'ok',
      redis: 'Rate limits cannot be checked right now; retry later',
    })
  })

  it('a Redis down at boot does not stop the start, and its password is never logged', async () => {
    const doomed = await startRedis()
    await doomed.stop()
    const url = `redis://:redis-secret-password@127.0.0.1:${doomed.port}`
    const { app, logs, logText } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: context.upstream.url, REDIS_URL: url }),
    )
    const response = await chat(app)
    expect(response.statusCode).toBe(200)
    expect(logs.some((line) => line.msg === 'Redis connection failed; reconnecting')).toBe(true)
    expect(logText()).not.toContain('redis-secret-password')
  })

  it('a Redis that accepts connections and never answers: the start goes on, each check fails in time', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => sockets.add(socket))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    onTestFinished(() => {
      silent.close()
      for (const socket of sockets) socket.destroy()
    })
    const { port } = silent.address() as AddressInfo
    const { app, logs } = await openTestApp(
      testConfig({ OPENAI_BASE_URL: context.upstream.url, REDIS_URL: `redis://127.0.0.1:${port}` }),
    )
    const response = await chat(app)
    expect(response.statusCode).toBe(200)
    expect(logs.some((line) => String(line.msg).startsWith('Redis'))).toBe(true)
  })
})
