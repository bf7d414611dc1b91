import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, onTestFinished } from 'vitest'
import { type BuildAppOptions, buildApp } from '../src/app.js'
import { type Config, parseConfig } from '../src/config.js'
import { loggerOptions } from '../src/plugins/logger.js'
import { okReply, openAIWithEmbeddings, startFakeOpenAI } from './fakes/openai.js'
import type { FakeUpstream } from './fakes/upstream.js'

/** A key that must never appear in a response or a log line. */
export const TEST_API_KEY = 'sk-test-1234567890abcdefSECRET'

/** A config for tests: fast retries, an OpenAI key, everything else default unless overridden. */
export function testConfig(environment: Record<string, string | undefined> = {}): Config {
  return parseConfig({
    OPENAI_API_KEY: TEST_API_KEY,
    RETRY_MIN_DELAY_MS: '1',
    RETRY_MAX_DELAY_MS: '20',
    LOG_LEVEL: 'info',
    ...environment,
  })
}

export interface TestApp {
  app: FastifyInstance
  /** Every log line the app wrote, parsed; filled as the app logs. */
  logs: Record<string, unknown>[]
  /** The raw log text, for "never contains" assertions. */
  logText: () => string
}

/** Builds the real app with the server's logger options, logging into memory. */
export async function buildTestApp(config: Config, options: BuildAppOptions = {}): Promise<TestApp> {
  const lines: string[] = []
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(line)
        logs.push(JSON.parse(line))
      }
      callback()
    },
  })
  const app = await buildApp(config, { ...options, loggerInstance: pino(loggerOptions(config), sink) })
  return { app, logs, logText: () => lines.join('\n') }
}

/** Listens on a free loopback port and returns the base URL, for tests whose behaviour lives in the socket. */
export async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

/** buildTestApp for one test: the app is closed when the test finishes, whether it passed or not. */
export async function openTestApp(config: Config, options: BuildAppOptions = {}): Promise<TestApp> {
  const harness = await buildTestApp(config, options)
  onTestFinished(() => harness.app.close())
  return harness
}

/** openTestApp, listening on a free loopback port: `base` is its URL. */
export async function serveTestApp(
  config: Config,
  options: BuildAppOptions = {},
): Promise<TestApp & { base: string }> {
  const harness = await openTestApp(config, options)
  return { ...harness, base: await listen(harness.app) }
}

/** Registers hooks that start a fake OpenAI for the enclosing suite, reset to its default reply before each test. */
export function useFakeOpenAI(): { upstream: FakeUpstream } {
  const context = {} as { upstream: FakeUpstream }
  beforeAll(async () => {
    context.upstream = await startFakeOpenAI()
  })
  afterAll(async () => {
    await context.upstream?.close()
  })
  beforeEach(() => {
    context.upstream.reset(okReply())
  })
  return context
}

export interface RagFolder {
  upstream: FakeUpstream
  /** This test's data folder (RAG_DATA_DIR). */
  directory: string
}

/**
 * Registers hooks for a suite of document routes: a fake OpenAI that also embeds, reset before each test,
 * and a new data folder per test, removed after it. Vitest runs `afterEach` hooks last-registered first,
 * so a suite's own hook that closes its apps (registered after this call) runs before the folder goes.
 */
export function useRagFolder(prefix: string): RagFolder {
  const context = {} as RagFolder
  beforeAll(async () => {
    context.upstream = await startFakeOpenAI()
  })
  afterAll(async () => {
    await context.upstream?.close()
  })
  beforeEach(async () => {
    context.upstream.reset(openAIWithEmbeddings())
    context.directory = await mkdtemp(join(tmpdir(), prefix))
  })
  afterEach(async () => {
    await rm(context.directory, { recursive: true, force: true })
  })
  return context
}

export interface UpstreamAndApp {
  upstream: FakeUpstream
  harness: TestApp
}

/** Registers hooks that start a fake OpenAI and an app pointed at it for the enclosing suite. */
export function useUpstreamAndApp(environment: Record<string, string> = {}): UpstreamAndApp {
  const context = {} as UpstreamAndApp
  beforeAll(async () => {
    context.upstream = await startFakeOpenAI()
    context.harness = await buildTestApp(
      testConfig({ OPENAI_BASE_URL: context.upstream.url, ...environment }),
    )
  })
  afterAll(async () => {
    await context.harness?.app.close()
    await context.upstream?.close()
  })
  return context
}
