import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import dynalite from 'dynalite'
import { buildMockAuthApp } from '../functions/mock-auth/app.ts'
import { parseClientRegistry } from '../functions/mock-auth/clients.ts'
import { mockAuthRoutes, oauthPaths } from '../functions/mock-auth/endpoints.ts'
import { loadOrCreateSigningKeys } from '../functions/mock-auth/signing-keys.ts'
import ingestFindingRoute from '../functions/ingest-finding/route.ts'
import { buildApp, type App } from '../shared/app.ts'
import { createEventSink } from '../shared/events/record-events.ts'
import { configuredTokenVerifier } from '../shared/auth/token-verifier.ts'
import { loadConfig } from '../shared/config.ts'
import { routingTable, type FunctionRoute } from '../shared/routing-table.ts'
import { createFunctionApp } from '../shared/server.ts'
import { createStore } from '../shared/store/client.ts'
import { createRevocationStore } from '../shared/store/revocation-store.ts'
import { ensureTable } from '../shared/store/table.ts'
import { localFunctions } from './functions.ts'
import localDocs from './docs.ts'
import { buildGateway, type GatewayRoute } from './gateway.ts'

export interface LocalStackOptions {
  port: number
  host: string
  /** Where the store, the signing key and the cursor secret live; `:memory:` keeps nothing. */
  dataDir: string
  /** An external DynamoDB-compatible store instead of the embedded dynalite. */
  dynamodbEndpoint?: string
  tableName?: string
  logLevel?: string
  /** CloudEvents sink for the record functions (K_SINK). */
  sinkUrl?: string
  /** How often the outbox sweeper runs (0: never). */
  sweepIntervalMs?: number
}

export interface LocalStack {
  url: string
  storeEndpoint: string
  close (): Promise<void>
}

/**
 * Routes only the local gateway has. In the cluster the broker delivers findings to
 * ingest-finding directly (cluster-local); the ingress never exposes it.
 */
const localOnlyRoutes: FunctionRoute[] = [
  { function: 'ingest-finding', method: 'POST', path: '/events/findings', authenticated: false }
]

const LOCAL_CLIENTS_FILE = new URL('./auth-clients.local.json', import.meta.url)

/**
 * The whole system on one machine: an embedded store, the mock authorization server and every
 * function on its own loopback port, behind one gateway that routes and checks tokens exactly
 * like the cluster ingress.
 */
export async function startLocalStack (options: LocalStackOptions): Promise<LocalStack> {
  const logLevel = options.logLevel ?? 'info'
  const inMemory = options.dataDir === ':memory:'
  if (!inMemory) await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const closers: Array<() => Promise<unknown>> = []
  const close = async () => { for (const closer of closers.reverse()) await closer().catch(() => {}) }

  try {
    let storeEndpoint = options.dynamodbEndpoint
    if (!storeEndpoint) {
      const server = dynalite(inMemory ? { createTableMs: 0 } : { path: join(options.dataDir, 'dynalite'), createTableMs: 0 })
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()))
      closers.push(() => new Promise((resolve) => server.close(resolve)))
      storeEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    }

    const port = options.port === 0 ? await freePort(options.host) : options.port
    const issuer = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
    const env = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: logLevel,
      DYNAMODB_ENDPOINT: storeEndpoint,
      TABLE_NAME: options.tableName ?? process.env.TABLE_NAME ?? 'security-records',
      AUTH_ISSUER: issuer,
      CURSOR_SECRET: process.env.CURSOR_SECRET ?? await localSecret(options.dataDir, 'cursor-secret'),
      ...(options.sinkUrl ? { K_SINK: options.sinkUrl } : {})
    }

    const setupStore = createStore(loadConfig({ ...env, AUTH_JWKS_URL: `${issuer}${oauthPaths.jwks}` }))
    await ensureTable(setupStore.client, setupStore.tableName)

    const mockAuth = await buildMockAuthApp({
      issuer,
      clients: parseClientRegistry(JSON.parse(await readFile(LOCAL_CLIENTS_FILE, 'utf8')), 'local-dev/auth-clients.local.json'),
      signingKeys: await loadOrCreateSigningKeys(options.dataDir),
      revocations: createRevocationStore(setupStore),
      logger: { level: logLevel }
    })
    closers.push(async () => { await mockAuth.close(); setupStore.client.destroy() })
    const mockAuthUrl = await mockAuth.listen({ port: 0, host: '127.0.0.1' })

    // Functions fetch the JWKS from the authorization server directly, as they do in the cluster.
    const config = loadConfig({ ...env, AUTH_JWKS_URL: `${mockAuthUrl}${oauthPaths.jwks}` })
    const upstreams: Record<string, string> = { 'mock-auth': mockAuthUrl }
    const apps: App[] = []
    for (const definition of localFunctions) {
      const app = await createFunctionApp(definition, config)
      closers.push(() => app.close())
      upstreams[definition.name] = await app.listen({ port: 0, host: '127.0.0.1' })
      apps.push(app)
    }

    // ingest-finding: a Knative Trigger delivers to it in the cluster; locally it sits at /events/findings.
    const ingestStore = createStore(config)
    const ingest = await buildApp({ config, store: ingestStore, routes: ingestFindingRoute, eventSink: createEventSink(config.K_SINK) })
    closers.push(async () => { await ingest.close(); ingestStore.client.destroy() })
    upstreams['ingest-finding'] = await ingest.listen({ port: 0, host: '127.0.0.1' })

    const routes: GatewayRoute[] = [...routingTable, ...mockAuthRoutes, ...localOnlyRoutes].map((route) => ({
      method: route.method,
      path: route.path,
      upstream: upstreams[route.function]!,
      authenticated: route.authenticated
    }))
    const gateway = await buildGateway({
      routes,
      verifyToken: configuredTokenVerifier(config),
      healthChecks: Object.fromEntries(Object.entries(upstreams).map(([name, url]) => [name, `${url}/healthz`])),
      logLevel
    })
    closers.push(() => gateway.close())
    await gateway.register(localDocs)
    await gateway.listen({ port, host: options.host })

    // Knative scales idle functions to zero; locally one timer plays the cluster's sweeper CronJob.
    const sweepInterval = options.sweepIntervalMs ?? 30_000
    if (sweepInterval > 0 && apps[0]) {
      const sweeper = apps[0]
      const timer = setInterval(() => {
        sweeper.records.publisher.sweep().catch((error: unknown) => sweeper.log.warn({ err: error }, 'outbox sweep failed'))
      }, sweepInterval)
      timer.unref()
      closers.push(async () => clearInterval(timer))
    }
    return { url: issuer, storeEndpoint, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** A random secret kept in the data directory (mode 0600), so cursors survive a restart. */
async function localSecret (dataDir: string, name: string): Promise<string> {
  const fresh = randomBytes(32).toString('base64url')
  if (dataDir === ':memory:') return fresh
  const file = join(dataDir, name)
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    await writeFile(file, fresh, { mode: 0o600, flag: 'wx' }).catch(() => {})
    return (await readFile(file, 'utf8')).trim()
  }
}

async function freePort (host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
