import type { FastifyPluginAsync } from 'fastify'
import { buildApp, type App } from './app.ts'
import { configuredTokenVerifier } from './auth/token-verifier.ts'
import { loadConfig, type Config } from './config.ts'
import { createEventSink } from './events/record-events.ts'
import { createStore, type Store } from './store/client.ts'
import { cachedRevocationCheck, createRevocationStore } from './store/revocation-store.ts'

export interface FunctionDefinition {
  name: string
  routes: FastifyPluginAsync
}

/** Builds one record function from configuration: its store client, token checks and routes. */
export async function createFunctionApp (definition: FunctionDefinition, config: Config, store: Store = createStore(config)): Promise<App> {
  const verifyToken = configuredTokenVerifier(config)
  const isRevoked = cachedRevocationCheck(createRevocationStore(store), config.REVOCATION_CACHE_MS)
  const app = await buildApp({ config, store, verifyToken, isRevoked, routes: definition.routes, eventSink: createEventSink(config.K_SINK) })
  app.addHook('onClose', async () => store.client.destroy())
  return app
}

/** How long in-flight requests get to finish after SIGTERM (Knative's default grace is 30 s). */
const SHUTDOWN_GRACE_MS = 25_000

/** Entry point of a deployed function: read config (fail fast), listen on PORT, drain on SIGTERM. */
export async function startFunction (definition: FunctionDefinition): Promise<App> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    console.error(`${definition.name}: ${(error as Error).message}`)
    process.exit(1)
  }
  const app = await createFunctionApp(definition, config)
  await app.listen({ port: config.PORT, host: config.HOST })
  closeOnSignals(app, definition.name)
  return app
}

/** Stop accepting, let in-flight requests finish, close clients, exit; forced after the grace period. */
export function closeOnSignals (app: { close (): Promise<unknown>, log: { info (msg: string): void } }, name: string): void {
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info(`${name}: ${signal} received, draining`)
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref()
    app.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}
