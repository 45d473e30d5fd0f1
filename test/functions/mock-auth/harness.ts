import { readFile } from 'node:fs/promises'
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildMockAuthApp, type MockAuthApp, type MockAuthAppOptions } from '../../../functions/mock-auth/app.ts'
import { parseClientRegistry, type RegisteredClient } from '../../../functions/mock-auth/clients.ts'
import { oauthPaths } from '../../../functions/mock-auth/endpoints.ts'
import { generateSigningKey, loadSigningKeys, type SigningKeys } from '../../../functions/mock-auth/signing-keys.ts'
import createRecordRoute from '../../../functions/create-record/route.ts'
import listRecordsRoute from '../../../functions/list-records/route.ts'
import { buildApp, type App } from '../../../shared/app.ts'
import { localKeySet } from '../../../shared/auth/key-set.ts'
import { createTokenVerifier } from '../../../shared/auth/token-verifier.ts'
import { createRevokedTokens, type RevokedTokens } from '../../../shared/store/revoked-tokens.ts'
import { createRedeemedCodes } from '../../../shared/store/redeemed-codes.ts'
import { parseUserDirectory, type LocalUser } from '../../../functions/mock-auth/users.ts'
import { TEST_CURSOR_SECRET } from '../../support/records-api.ts'
import { startTestStore, type TestStore } from '../../support/store.ts'

/**
 * The issuer the tests run the mock as: a loopback origin, the only kind the shipped local clients
 * may be served from.
 */
export const LOCAL_ISSUER = 'http://127.0.0.1:8080'

export const LOCAL_CLIENTS_FILE = new URL('../../../local-dev/auth-clients.local.json', import.meta.url)

/** The three local clients (README "Configuration"), as the local registry ships them. */
export const localSecrets: Record<string, string> = {
  'local-admin': 'local-admin-secret',
  'local-reader': 'local-reader-secret',
  'local-other': 'local-other-secret',
  'local-console': 'local-console-secret'
}

export const LOCAL_USERS_FILE = new URL('../../../local-dev/auth-users.local.json', import.meta.url)

/** The three local people (README "Configuration"), as the local directory ships them. */
export const localPasswords: Record<string, string> = {
  'local-triager': 'local-triager-password',
  'local-viewer': 'local-viewer-password',
  'other-triager': 'other-triager-password'
}

export async function localUsers (): Promise<LocalUser[]> {
  return parseUserDirectory(JSON.parse(await readFile(LOCAL_USERS_FILE, 'utf8')), 'local-dev/auth-users.local.json')
}

export async function localClients (): Promise<RegisteredClient[]> {
  return parseClientRegistry(JSON.parse(await readFile(LOCAL_CLIENTS_FILE, 'utf8')), 'local-dev/auth-clients.local.json')
}

export interface MockAuthHarness {
  app: MockAuthApp
  store: TestStore
  revocations: RevokedTokens
  signingKeys: SigningKeys
  /** A token for a local client through the real token endpoint (client_secret_basic). */
  token (clientId?: string, parameters?: Record<string, string>): Promise<string>
  /** POSTs form parameters to an endpoint, authenticated as a local client. */
  post (path: string, parameters: Record<string, string>, clientId?: string): Promise<LightMyRequestResponse>
}

export function basic (clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

export function form (parameters: Record<string, string>): string {
  return new URLSearchParams(parameters).toString()
}

export const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' }

/**
 * The mock authorization server over a real store, with the shipped local clients and a signing
 * key generated for this test. Closed when the test ends.
 */
export async function buildMockAuth (t: Test, overrides: Partial<MockAuthAppOptions> & { store?: TestStore } = {}): Promise<MockAuthHarness> {
  const { store: givenStore, ...appOverrides } = overrides
  const store = givenStore ?? await startTestStore()
  if (!givenStore) t.teardown(() => store.close())
  const signingKeys = appOverrides.signingKeys ?? await loadSigningKeys({ keys: [await generateSigningKey()] })
  const revocations = createRevokedTokens(store)
  const people = { users: await localUsers(), redeemedCodes: createRedeemedCodes(store) }
  const app = await buildMockAuthApp({ issuer: LOCAL_ISSUER, clients: await localClients(), people, signingKeys, revocations, logger: false, ...appOverrides })
  // Teardowns run last-registered first: the app closes before its store.
  t.teardown(() => app.close())
  const post: MockAuthHarness['post'] = (path, parameters, clientId = 'local-admin') => app.inject({
    method: 'POST', url: path, headers: { ...FORM_TYPE, authorization: basic(clientId, localSecrets[clientId]!) }, payload: form(parameters)
  })
  return {
    app,
    store,
    revocations,
    signingKeys,
    post,
    async token (clientId = 'local-admin', parameters = {}) {
      const response = await post(oauthPaths.token, { grant_type: 'client_credentials', ...parameters }, clientId)
      if (response.statusCode !== 200) throw new Error(`token request failed: ${response.statusCode} ${response.body}`)
      return response.json().access_token
    }
  }
}

/**
 * The records API (list and create) trusting this mock's keys and reading its denylist, the way the
 * deployed functions trust the issuer's JWKS: a token from the mock works there until revoked.
 */
export async function recordsApiTrusting (t: Test, auth: MockAuthHarness): Promise<App> {
  const app = await buildApp({
    config: { CURSOR_SECRET: TEST_CURSOR_SECRET, LOG_LEVEL: 'silent' },
    store: auth.store,
    verifyToken: createTokenVerifier({ issuer: LOCAL_ISSUER, audience: 'security-records-api', keys: localKeySet(auth.signingKeys.jwks), clockToleranceSeconds: 30 }),
    isRevoked: (issuer, tokenId) => auth.revocations.isRevoked(issuer, tokenId),
    routes: async (instance, deps) => {
      await instance.register(listRecordsRoute, deps)
      await instance.register(createRecordRoute, deps)
    },
    logger: false
  })
  t.teardown(() => app.close())
  return app
}
