import type { FastifyPluginAsync } from 'fastify'
import type { Test } from 'tap'
import { recordFunctionNames, functionRegistry } from '../../functions/registry.ts'
import { buildApp, type App, type AppOptions, type RouteDeps } from '../../shared/app.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createDataLayer, type DataLayer } from '../../shared/operations/data-layer.ts'
import { createTokenVerifier } from '../../shared/auth/token-verifier.ts'
import { createRevokedTokens } from '../../shared/store/revoked-tokens.ts'
import type { RecordChange } from '../../shared/records/change.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import { createRecordsRepository } from '../../shared/store/records-repository.ts'
import { eventually, startTestStore, type TestStore } from './store.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from './tokens.ts'

export const TEST_CURSOR_SECRET = 'test-cursor-secret-0123456789-abcdef'

/** The route plugins of every record function of the registry, in one app. */
export const allRecordRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  for (const name of recordFunctionNames) {
    const routes = functionRegistry.find((entry) => entry.definition.name === name)!.definition.routes!
    await app.register(routes, deps)
  }
}

export interface RecordsApiHarness {
  app: App
  store: TestStore
  /** A data layer over the same store and sink as the app's (the sweeper's view). */
  data: DataLayer
  keys: TestKeys
  /** `Authorization` header value for a tenant and scopes. */
  bearer (claims?: Partial<Record<string, unknown>>): Promise<string>
  /** Waits until every follow-up of the writes so far (history entries, outbox marks, purges) is done. */
  settled (): Promise<void>
  /** Creates a record through the API and returns it with its ETag. */
  create (body?: Record<string, unknown>, claims?: Partial<Record<string, unknown>>): Promise<SecurityRecord & { etag: string }>
}

/** Tokens signed by the test's key, and a create through the API that returns the record with its ETag. */
export function apiClient (app: App, keys: TestKeys) {
  const bearer = async (claims: Partial<Record<string, unknown>> = {}) => `Bearer ${await keys.sign(claims)}`
  return {
    bearer,
    async create (body = aRecord(), claims: Partial<Record<string, unknown>> = {}): Promise<SecurityRecord & { etag: string }> {
      const response = await app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await bearer(claims) }, payload: body })
      if (response.statusCode !== 201) throw new Error(`create failed: ${response.statusCode} ${response.body}`)
      return { ...response.json(), etag: String(response.headers.etag) }
    }
  }
}

/** Writes a record straight into the store (with its `created` change), bypassing the API. */
export async function seedRecord (store: TestStore, tenant: string, record: SecurityRecord): Promise<void> {
  const change: RecordChange = { version: record.version, action: 'created', at: record.createdAt, actor: { type: 'client', id: record.createdBy, clientId: 'seed' }, requestId: 'seed', changes: [] }
  await createRecordsRepository(store).insert(tenant, record, change)
}

/** A valid create body; tests override what they are about. */
export function aRecord (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'xz backdoor in liblzma',
    category: 'vulnerability',
    severity: 'critical',
    asset: { name: 'payments-api', type: 'service', environment: 'production' },
    vulnerabilityIds: ['CVE-2024-3094'],
    tags: ['supply-chain'],
    ...overrides
  }
}

/**
 * All five record routes in one app over a real store (dynalite, or DYNAMODB_ENDPOINT), with
 * tokens signed by a key generated for this test. Closed when the test ends.
 */
export interface RecordsApiOptions {
  routes?: FastifyPluginAsync<RouteDeps>
  /** K_SINK for the app's CloudEvents. */
  sinkUrl?: string
  /** Settings beyond the cursor secret (rate limits). */
  config?: Partial<AppOptions['config']>
}

export async function buildRecordsApi (t: Test, options: RecordsApiOptions = {}): Promise<RecordsApiHarness> {
  const store = await startTestStore()
  const keys = await createTestKeys()
  const verifyToken = createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 })
  const revocations = createRevokedTokens(store)
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'silent', ...options.config },
    store,
    verifyToken,
    isRevoked: (issuer, tokenId) => revocations.isRevoked(issuer, tokenId),
    routes: options.routes ?? allRecordRoutes,
    logger: false,
    eventSink: createEventSink(options.sinkUrl)
  })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  const data = createDataLayer(store, { sink: createEventSink(options.sinkUrl), log: app.log })
  // Writes answer at their commit point; what follows shows in the store's outbox until done.
  const settled = () => eventually(async () => (await data.outbox.due(new Date(Date.now() + 60_000))).length === 0)
  return { app, store, data, keys, settled, ...apiClient(app, keys) }
}
