import { closeOnSignals } from '../../shared/server.ts'
import { createStore } from '../../shared/store/client.ts'
import { createRevocationStore } from '../../shared/store/revocation-store.ts'
import { buildMockAuthApp } from './app.ts'
import { loadMockAuthSettings, type MockAuthSettings } from './config.ts'
import { MOCK_AUTH_FUNCTION } from './endpoints.ts'

let settings: MockAuthSettings
try {
  settings = await loadMockAuthSettings()
} catch (error) {
  console.error(`${MOCK_AUTH_FUNCTION}: ${(error as Error).message}`)
  process.exit(1)
}
const { config, clients, signingKeys } = settings
const store = createStore(config)
const app = await buildMockAuthApp({
  issuer: config.AUTH_ISSUER,
  defaultAudience: config.AUTH_AUDIENCE,
  clients,
  signingKeys,
  revocations: createRevocationStore(store),
  logger: { level: config.LOG_LEVEL }
})
app.addHook('onClose', async () => store.client.destroy())
await app.listen({ port: config.PORT, host: config.HOST })
closeOnSignals(app, MOCK_AUTH_FUNCTION)
