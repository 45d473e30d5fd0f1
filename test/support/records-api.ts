import type { FastifyPluginAsync } from 'fastify'
import type { Test } from 'tap'
import createRecordRoute from '../../functions/create-record/route.ts'
import deleteRecordRoute from '../../functions/delete-record/route.ts'
import getRecordRoute from '../../functions/get-record/route.ts'
import listRecordsRoute from '../../functions/list-records/route.ts'
import updateRecordRoute from '../../functions/update-record/route.ts'
import { buildApp, type App, type AppOptions } from '../../shared/app.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { createTokenVerifier } from '../../shared/auth/token-verifier.ts'
import { createRevocationStore } from '../../shared/store/revocation-store.ts'
import type { RecordChange } from '../../shared/records/change.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import { createRecordsRepository } from '../../shared/store/records-repository.ts'
import { startTestStore, type TestStore } from './store.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from './tokens.ts'

export const TEST_CURSOR_SECRET = 'test-cursor-secret-0123456789-abcdef'

export const allRecordRoutes: FastifyPluginAsync = async (app) => {
  for (const route of [createRecordRoute, getRecordRoute, listRecordsRoute, updateRecordRoute, deleteRecordRoute]) await app.register(route)
}

export interface RecordsApiHarness {
  app: App
  store: TestStore
  keys: TestKeys
  /** `Authorization` header value for a tenant and scopes. */
  bearer (claims?: Partial<Record<string, unknown>>): Promise<string>
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
  const change: RecordChange = { version: record.version, action: 'created', at: record.createdAt, actor: { sub: record.createdBy, clientId: 'seed' }, requestId: 'seed', changes: [] }
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
  routes?: FastifyPluginAsync
  /** K_SINK for the app's CloudEvents. */
  sinkUrl?: string
  afterRecordWrite?: AppOptions['afterRecordWrite']
}

export async function buildRecordsApi (t: Test, options: RecordsApiOptions = {}): Promise<RecordsApiHarness> {
  const store = await startTestStore()
  const keys = await createTestKeys()
  const verifyToken = createTokenVerifier({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, keys: keys.keySet, clockToleranceSeconds: 30 })
  const revocations = createRevocationStore(store)
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'silent' },
    store,
    verifyToken,
    isRevoked: (issuer, tokenId) => revocations.isRevoked(issuer, tokenId),
    routes: options.routes ?? allRecordRoutes,
    logger: false,
    ...(options.sinkUrl ? { eventSink: createEventSink(options.sinkUrl) } : {}),
    ...(options.afterRecordWrite ? { afterRecordWrite: options.afterRecordWrite } : {})
  })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  return { app, store, keys, ...apiClient(app, keys) }
}
