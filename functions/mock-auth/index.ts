import { startFunction, type FunctionDefinition } from '../../shared/server.ts'
import { createStore } from '../../shared/store/client.ts'
import { createRedeemedCodes } from '../../shared/store/redeemed-codes.ts'
import { createRevokedTokens } from '../../shared/store/revoked-tokens.ts'
import { buildMockAuthApp } from './app.ts'
import { MOCK_AUTH_SECRET_SETTINGS, MockAuthConfigSchema, readMockAuthDocuments } from './config.ts'
import { MOCK_AUTH_FUNCTION } from './endpoints.ts'

/** mock-auth: the OAuth 2.0 authorization server, its clients, people and keys from mounted Secrets, its denylist and redeemed codes in the store. */
export const definition: FunctionDefinition<typeof MockAuthConfigSchema> = {
  name: MOCK_AUTH_FUNCTION,
  configSchema: MockAuthConfigSchema,
  secretSettings: MOCK_AUTH_SECRET_SETTINGS,
  async build (config) {
    const { clients, users, signingKeys } = await readMockAuthDocuments(config)
    const store = createStore(config)
    const app = await buildMockAuthApp({
      issuer: config.AUTH_ISSUER,
      defaultAudience: config.AUTH_AUDIENCE,
      clients,
      ...(users ? { people: { users, redeemedCodes: createRedeemedCodes(store) } } : {}),
      signingKeys,
      revocations: createRevokedTokens(store),
      logger: { level: config.LOG_LEVEL },
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      trustedProxies: config.AUTH_TRUSTED_PROXIES,
      clientAddressHeader: config.AUTH_CLIENT_ADDRESS_HEADER
    })
    app.addHook('onClose', async () => store.client.destroy())
    return app
  }
}

if (import.meta.main) await startFunction(definition)
