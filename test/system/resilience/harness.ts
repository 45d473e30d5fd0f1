/**
 * Test harness of the hostile-input and resilience suites: the five record routes in one app
 * whose configuration, logger and store the test controls (test/support/records-api.ts builds
 * a fixed one), a store the test can stop and restart, and a snapshot of every stored item.
 */
import { randomUUID } from 'node:crypto'
import { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import dynalite from 'dynalite'
import type { FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type App, type AppOptions } from '../../../shared/app.ts'
import { createTokenVerifier } from '../../../shared/auth/token-verifier.ts'
import { PROBLEM_TYPE_BASE } from '../../../shared/http/problem.ts'
import { createStore, type Store } from '../../../shared/store/client.ts'
import { cachedRevocationCheck, createRevokedTokens } from '../../../shared/store/revoked-tokens.ts'
import { createOutbox } from '../../../shared/store/outbox.ts'
import { ensureTable } from '../../../shared/store/table.ts'
import { aRecord, allRecordRoutes, apiClient, TEST_CURSOR_SECRET } from '../../support/records-api.ts'
import { eventually, startTestStore } from '../../support/store.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../../support/tokens.ts'

export { aRecord }

export interface HardenedApiOptions {
  /** Settings beyond the cursor secret (rate limits, request timeout). */
  config?: Partial<AppOptions['config']>
  /** A store the test controls; a fresh dynalite table otherwise. */
  store?: Store
  logger?: FastifyServerOptions['logger']
}

export interface HardenedApi {
  app: App
  store: Store
  keys: TestKeys
  bearer (claims?: Partial<Record<string, unknown>>): Promise<string>
  create (body?: Record<string, unknown>, claims?: Partial<Record<string, unknown>>): Promise<{ id: string, etag: string, version: number } & Record<string, unknown>>
  /** Waits until every follow-up of the writes so far (history entries, outbox marks, purges) is done. */
  settled (): Promise<void>
}

export async function buildHardenedApi (t: Test, options: HardenedApiOptions = {}): Promise<HardenedApi> {
  let store = options.store
  if (!store) {
    const testStore = await startTestStore()
    t.teardown(() => testStore.close())
    store = testStore
  }
  const keys = await createTestKeys()
  // As deployed: a token's "not revoked" answer is cached for a few seconds.
  const isRevoked = cachedRevocationCheck(createRevokedTokens(store), 5000)
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'silent', ...options.config },
    store,
    verifyToken: createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 }),
    isRevoked,
    routes: allRecordRoutes,
    logger: options.logger ?? false
  })
  t.teardown(() => app.close())
  return { app, store, keys, settled: () => settledStore(store), ...apiClient(app, keys) }
}

/** Waits until every follow-up of the writes so far is done: writes answer at their commit point, and what follows shows in the store's outbox until done. */
export async function settledStore (store: Store): Promise<void> {
  const outbox = createOutbox(store)
  await eventually(async () => (await outbox.due(new Date(Date.now() + 60_000))).length === 0)
}

/** Every item of the table, sorted by key: equal snapshots mean nothing was written. */
export async function snapshotTable (store: Store): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = []
  let start: Record<string, unknown> | undefined
  do {
    const page = await store.documents.send(new ScanCommand({ TableName: store.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }))
    items.push(...(page.Items ?? []))
    start = page.LastEvaluatedKey
  } while (start)
  const key = (item: Record<string, unknown>) => `${String(item.pk)}\u0000${String(item.sk)}`
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** The record items (not guards, history or idempotency keys) of the table. */
export async function storedRecords (store: Store): Promise<Array<Record<string, unknown>>> {
  return (await snapshotTable(store)).filter((item) => item.sk === 'RECORD')
}

/** What is wrong with a response that should be an RFC 9457 problem of status 4xx; undefined when nothing is. */
export function problemViolation (statusCode: number, headers: Record<string, unknown>, body: string, expected: { min: number, max: number } = { min: 400, max: 499 }): string | undefined {
  if (statusCode < expected.min || statusCode > expected.max) return `status ${statusCode} not in ${expected.min}–${expected.max}`
  if (!String(headers['content-type'] ?? '').startsWith('application/problem+json')) return `content-type ${String(headers['content-type'])}`
  let problem: Record<string, unknown>
  try {
    problem = JSON.parse(body) as Record<string, unknown>
  } catch {
    return 'body is not JSON'
  }
  if (typeof problem.type !== 'string' || !problem.type.startsWith(PROBLEM_TYPE_BASE)) return `type ${String(problem.type)}`
  if (typeof problem.title !== 'string' || problem.title === '') return 'title missing'
  if (problem.status !== statusCode) return `status member ${String(problem.status)} ≠ ${statusCode}`
  if (typeof problem.detail !== 'string' || problem.detail === '') return 'detail missing'
  if (typeof problem.instance !== 'string' || !problem.instance.startsWith('/')) return `instance ${String(problem.instance)}`
  return undefined
}

/** Asserts an RFC 9457 problem with this status. */
export function assertProblem (t: Test, response: { statusCode: number, headers: Record<string, unknown>, body: string }, status: number, message = `problem ${status}`): void {
  t.equal(problemViolation(response.statusCode, response.headers, response.body, { min: status, max: status }), undefined, message)
}

export interface ControlledStore {
  /** A store client configured like a function's: its timeouts and retries are what is tested. */
  client (settings?: { timeoutMs?: number, maxAttempts?: number }): Store
  tableName: string
  endpoint: string
  port: number
  /** Stops listening and drops every open connection: the store is gone. */
  stop (): Promise<void>
  /** Listens again on the same port, with the data it had. */
  start (): Promise<void>
  close (): Promise<void>
}

/** A dynalite the test can stop and restart on the same port (its data survives, in memory). */
export async function startControlledStore (t: Test): Promise<ControlledStore> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://127.0.0.1:${port}`
  const tableName = `resilience-${randomUUID()}`
  const clients: Store[] = []
  const client = ({ timeoutMs = 1000, maxAttempts = 3 } = {}) => {
    const store = createStore({ DYNAMODB_ENDPOINT: endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: timeoutMs, STORE_MAX_ATTEMPTS: maxAttempts, TABLE_NAME: tableName }, {})
    clients.push(store)
    return store
  }
  await ensureTable(client().client, tableName)
  let listening = true
  const stop = async () => {
    if (!listening) return
    listening = false
    // Node's own close, not dynalite's (which also closes its database): the endpoint goes away
    // like a store process that died, and its data is there when it comes back, like a real one's.
    const closed = new Promise<void>((resolve) => Server.prototype.close.call(server, () => resolve()))
    server.closeAllConnections()
    await closed
  }
  const controlled: ControlledStore = {
    client,
    tableName,
    endpoint,
    port,
    stop,
    async start () {
      if (listening) return
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() }))
      listening = true
    },
    async close () {
      for (const store of clients) store.client.destroy()
      await stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  t.teardown(() => controlled.close())
  return controlled
}
