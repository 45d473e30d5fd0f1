import { ConfigError } from '../../shared/config.ts'
import { closeOnSignals } from '../../shared/server.ts'
import { createStore } from '../../shared/store/client.ts'
import { createRevocationStore } from '../../shared/store/revocation-store.ts'
import { buildMockAuthApp, type MockAuthApp } from './app.ts'
import { loadMockAuthSettings, type MockAuthConfig } from './config.ts'
import { MOCK_AUTH_FUNCTION } from './endpoints.ts'

let config: MockAuthConfig
let app: MockAuthApp
try {
  const settings = await loadMockAuthSettings()
  config = settings.config
  const store = createStore(config)
  app = await buildMockAuthApp({
    issuer: config.AUTH_ISSUER,
    defaultAudience: config.AUTH_AUDIENCE,
    clients: settings.clients,
    signingKeys: settings.signingKeys,
    revocations: createRevocationStore(store),
    logger: { level: config.LOG_LEVEL },
    trustedProxies: config.AUTH_TRUSTED_PROXIES
  })
  app.addHook('onClose', async () => store.client.destroy())
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  // A configuration this server must not run with: one line naming it, no stack trace.
  console.error(`${MOCK_AUTH_FUNCTION}: ${error.message}`)
  process.exit(1)
}
await app.listen({ port: config.PORT, host: config.HOST })
closeOnSignals(app, MOCK_AUTH_FUNCTION)
