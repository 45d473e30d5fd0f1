import type { FastifyPluginAsync } from 'fastify'
import type { Static, TObject } from 'typebox'
import { buildApp, type App, type RouteDeps } from './app.ts'
import { configuredTokenVerifier } from './auth/token-verifier.ts'
import { ConfigSchema, loadSettings, SECRET_SETTINGS, type Config } from './config.ts'
import { createEventSink } from './events/record-events.ts'
import { createStore, type Store } from './store/client.ts'
import { cachedRevocationCheck, createRevokedTokens } from './store/revoked-tokens.ts'

/** Something that can be closed and logs: a Fastify app, or the local stack. */
export interface Closable {
  close (): Promise<unknown>
  log: { info (msg: string): void }
}

/** One deployable function: its settings and how to build its app from them (the app never listens). */
export interface FunctionDefinition<Schema extends TObject = TObject> {
  name: string
  configSchema: Schema
  /** Settings never echoed in a configuration error. */
  secretSettings?: ReadonlySet<string>
  build (config: Static<Schema>): Promise<Closable & { listen (options: { port: number, host: string }): Promise<string> }>
  /** A record function's route plugin (the OpenAPI document is generated from these). */
  routes?: FastifyPluginAsync<RouteDeps>
}

/** The settings every function listens by. */
interface ListenSettings { PORT: number, HOST: string }

/** A record function: the record settings, token checks against the issuer's JWKS, the store, and its routes. */
export function recordFunction (name: string, routes: FastifyPluginAsync<RouteDeps>): FunctionDefinition<typeof ConfigSchema> {
  return { name, configSchema: ConfigSchema, secretSettings: SECRET_SETTINGS, routes, build: (config) => createFunctionApp(routes, config) }
}

/** Builds one record function from configuration: its store client, token checks and routes (ingest-finding too: it has no cursor key). */
export async function createFunctionApp (routes: FastifyPluginAsync<RouteDeps>, config: Omit<Config, 'CURSOR_SECRET'> & Partial<Pick<Config, 'CURSOR_SECRET'>>, store: Store = createStore(config)): Promise<App> {
  const verifyToken = configuredTokenVerifier(config)
  const isRevoked = cachedRevocationCheck(createRevokedTokens(store), config.REVOCATION_CACHE_MS)
  const app = await buildApp({ config, store, verifyToken, isRevoked, routes, eventSink: createEventSink(config.K_SINK, { tokenFile: config.K_SINK_TOKEN_FILE }) })
  app.addHook('onClose', async () => store.client.destroy())
  return app
}

/** How long in-flight requests get to finish after SIGTERM (Knative's default grace is 30 s). */
const SHUTDOWN_GRACE_MS = 25_000

/**
 * Entry point of every deployed function: read its settings once (fail fast, naming every
 * problem, in one line), build its app, listen on PORT, drain on SIGTERM.
 */
export async function startFunction<Schema extends TObject> (definition: FunctionDefinition<Schema>, env: Record<string, string | undefined> = process.env): Promise<void> {
  let app: Awaited<ReturnType<FunctionDefinition<Schema>['build']>>
  let config: Static<Schema> & ListenSettings
  try {
    config = loadSettings(definition.configSchema, env, definition.secretSettings) as Static<Schema> & ListenSettings
    app = await definition.build(config)
  } catch (error) {
    console.error(`${definition.name}: ${(error as Error).message}`)
    process.exit(1)
  }
  await app.listen({ port: config.PORT, host: config.HOST })
  closeOnSignals(app, definition.name)
}

/** Stop accepting, let in-flight requests finish, close clients, exit; forced after the grace period. */
export function closeOnSignals (app: Closable, name: string): void {
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
