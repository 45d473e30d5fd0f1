import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import dynalite from 'dynalite'
import { functionRegistry, localOnlyRoutes, routingTable } from '../functions/registry.ts'
import { CLIENT_ADDRESS_HEADER, oauthPaths } from '../functions/mock-auth/endpoints.ts'
import { generateSigningKey, loadOrCreateSigningKeys, SIGNING_KEYS_FILE_NAME } from '../functions/mock-auth/signing-keys.ts'
import { configuredTokenVerifier } from '../shared/auth/token-verifier.ts'
import { loadConfig, loadSettings } from '../shared/config.ts'
import { createEventSink, recordEventTypes } from '../shared/events/record-events.ts'
import { createDataLayer } from '../shared/operations/data-layer.ts'
import { ADDRESS_RATE_LIMIT } from '../shared/routing-table.ts'
import { sweepOutbox } from '../jobs/sweep-outbox/sweep-outbox.ts'
import { createStore } from '../shared/store/client.ts'
import { ensureTable } from '../shared/store/table.ts'
import localDocs from './docs.ts'
import { seedExamples } from './examples.ts'
import { buildGateway, type GatewayRoute } from './gateway.ts'
import { startLocalBroker } from './event-broker.ts'
import { METRICS_DELIVERY_AUDIENCE, METRICS_TRIGGER_SUBJECT } from '../functions/record-metrics/config.ts'
import { INGEST_DELIVERY_AUDIENCE, TRIGGER_SUBJECT as INGEST_TRIGGER_SUBJECT } from '../functions/ingest-finding/config.ts'
import { FINDING_REPORTED } from '../functions/ingest-finding/handler.ts'

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
  /** The settings every function and the gateway read (REQUEST_TIMEOUT_MS, RATE_LIMIT, …); process.env by default. */
  env?: Record<string, string | undefined>
  /** Seed the record and the import the examples of /docs name (examples.ts); `npm start` does. */
  seedExamples?: boolean
}

export interface LocalStack {
  url: string
  storeEndpoint: string
  /** Where each function listens on loopback, behind the gateway. */
  functions: Readonly<Record<string, string>>
  close (): Promise<void>
}

const LOCAL_CLIENTS_FILE = fileURLToPath(new URL('./auth-clients.local.json', import.meta.url))
const LOCAL_USERS_FILE = fileURLToPath(new URL('./auth-users.local.json', import.meta.url))
/** The origin the local clients' redirect URIs are written for; a stack elsewhere gets them rewritten. */
const DOCUMENTED_ORIGIN = 'http://127.0.0.1:8080'

/**
 * The whole system on one machine: an embedded store, the mock authorization server and every
 * function on its own loopback port, behind one gateway that routes and checks tokens exactly
 * like the cluster ingress.
 */
export async function startLocalStack (options: LocalStackOptions): Promise<LocalStack> {
  if (options.port !== 0) return startOn(options, options.port)
  // Any free port: the issuer names the port before the gateway binds it, after every function
  // started, and another process may take it in between (an outgoing connection's local port,
  // a parallel test). Then everything is closed and started again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(options, await freePort(options.host))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === PORT_ATTEMPTS) throw error
    }
  }
}

/** How often a stack on "any free port" (port 0) is started again when its port was taken. */
const PORT_ATTEMPTS = 3

async function startOn (options: LocalStackOptions, port: number): Promise<LocalStack> {
  const logLevel = options.logLevel ?? 'info'
  const settings = options.env ?? process.env
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

    const issuer = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
    const env: Record<string, string | undefined> = {
      // mock-auth sits behind the gateway, which stamps each client's address, as in the cluster.
      AUTH_TRUSTED_PROXIES: 'loopback',
      AUTH_CLIENT_ADDRESS_HEADER: CLIENT_ADDRESS_HEADER,
      // One process runs the gateway, every function and the store: one tenant's share of it is
      // one request at a time per function (a pod of its own in the cluster takes the default).
      TENANT_REQUESTS_IN_FLIGHT: '1',
      // Likewise an import's store calls: each result applied at once is a few more callbacks every
      // other request waits behind in the one event loop (a pod of its own in the cluster).
      IMPORT_RESULTS_IN_FLIGHT: '2',
      ...settings,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: logLevel,
      DYNAMODB_ENDPOINT: storeEndpoint,
      TABLE_NAME: options.tableName ?? settings.TABLE_NAME ?? 'security-records',
      AUTH_ISSUER: issuer,
      CURSOR_SECRET: settings.CURSOR_SECRET ?? await localSecret(options.dataDir, 'cursor-secret'),
      // The local clients and people, and a signing key kept in the data directory: local configuration only.
      AUTH_CLIENTS_FILE: undefined,
      AUTH_CLIENTS_JSON: await localClients(issuer),
      AUTH_USERS_FILE: LOCAL_USERS_FILE,
      ...await localSigningKeys(options.dataDir),
      // The console signs people in at the mock and calls the API through this gateway, as through the ingress.
      CONSOLE_ORIGIN: issuer,
      CONSOLE_API_URL: issuer,
      CONSOLE_AUTH_ISSUER: issuer,
      CONSOLE_CLIENT_ID: 'local-console',
      CONSOLE_CLIENT_SECRET: 'local-console-secret',
      CONSOLE_COOKIE_KEY: settings.CONSOLE_COOKIE_KEY ?? await localSecret(options.dataDir, 'console-cookie-key')
    }

    // The record events go to a local broker, which delivers them to record-metrics (and to K_SINK, when given), as the cluster's broker and Triggers do.
    const broker = await startLocalBroker()
    closers.push(() => broker.close())
    env.K_SINK = broker.url
    const settingsOf: Record<string, Record<string, string | undefined>> = {
      'record-metrics': { DELIVERY_OIDC_ISSUER: broker.issuer, DELIVERY_OIDC_JWKS_URL: broker.jwksUrl, DELIVERY_OIDC_AUDIENCE: METRICS_DELIVERY_AUDIENCE },
      // POST /v1/findings publishes to the broker, whose findings Trigger delivers to ingest-finding's POST /, as in the cluster.
      'ingest-finding': { DELIVERY_OIDC_ISSUER: broker.issuer, DELIVERY_OIDC_JWKS_URL: broker.jwksUrl }
    }

    const setupStore = createStore(loadConfig({ ...env, AUTH_JWKS_URL: `${issuer}${oauthPaths.jwks}` }))
    closers.push(async () => setupStore.client.destroy())
    await ensureTable(setupStore.client, setupStore.tableName)

    // Every function from the registry, each its own app on its own loopback port, started from
    // the same definition and settings as its container. mock-auth first: the others fetch its JWKS
    // directly, as they do in the cluster.
    const upstreams: Record<string, string> = {}
    const ordered = [...functionRegistry].sort((a, b) => Number(b.definition.name === 'mock-auth') - Number(a.definition.name === 'mock-auth'))
    // Closed together, after the gateway: each drains on its own, and none waits for another.
    const apps: Array<{ close (): Promise<unknown> }> = []
    closers.push(() => Promise.all(apps.map((app) => app.close())))
    for (const { definition } of ordered) {
      const app = await definition.build(loadSettings(definition.configSchema, { ...env, ...settingsOf[definition.name] }, definition.secretSettings))
      apps.push(app)
      upstreams[definition.name] = await app.listen({ port: 0, host: '127.0.0.1' })
      if (definition.name === 'mock-auth') {
        env.AUTH_JWKS_URL = `${upstreams[definition.name]}${oauthPaths.jwks}`
        env.CONSOLE_AUTH_URL = upstreams[definition.name]
      }
    }
    const config = loadConfig(env)
    const recordTypes = Object.values(recordEventTypes)
    broker.subscribe({ url: `${upstreams['record-metrics']}/`, identity: { subject: METRICS_TRIGGER_SUBJECT, audience: METRICS_DELIVERY_AUDIENCE }, types: recordTypes })
    broker.subscribe({ url: `${upstreams['ingest-finding']}/`, identity: { subject: INGEST_TRIGGER_SUBJECT, audience: INGEST_DELIVERY_AUDIENCE }, types: [FINDING_REPORTED] })
    if (options.sinkUrl) broker.subscribe({ url: options.sinkUrl, types: recordTypes })

    const routes: GatewayRoute[] = [...routingTable, ...localOnlyRoutes].map((route) => ({
      method: route.method,
      path: route.path,
      upstream: upstreams[route.function]!,
      authenticated: route.authenticated
    }))
    const gateway = await buildGateway({
      routes,
      verifyToken: configuredTokenVerifier(config),
      healthChecks: Object.fromEntries(Object.entries(upstreams).map(([name, url]) => [name, `${url}/healthz`])),
      logLevel,
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      ...(config.RATE_LIMIT === 'on' ? { addressRateLimit: ADDRESS_RATE_LIMIT } : {})
    })
    closers.push(() => gateway.close())
    await gateway.register(localDocs)
    await gateway.listen({ port, host: options.host })

    const data = createDataLayer(setupStore, { sink: createEventSink(config.K_SINK), log: gateway.log })
    // The examples are a convenience: a store that refuses them (a half-deleted example record) starts all the same.
    if (options.seedExamples) await seedExamples(data).catch((error: unknown) => gateway.log.warn({ err: error }, 'the examples of /docs could not be seeded'))

    // Knative scales idle functions to zero; locally one timer plays the cluster's sweeper CronJob.
    const sweepInterval = options.sweepIntervalMs ?? 30_000
    if (sweepInterval > 0) {
      const timer = setInterval(() => {
        sweepOutbox(data).catch((error: unknown) => gateway.log.warn({ err: error }, 'outbox sweep failed'))
      }, sweepInterval)
      timer.unref()
      closers.push(async () => clearInterval(timer))
    }
    return { url: issuer, storeEndpoint, functions: upstreams, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** The local clients, their redirect URIs on this stack's origin (a redirect URI is matched exactly). */
async function localClients (origin: string): Promise<string> {
  const clients = JSON.parse(await readFile(LOCAL_CLIENTS_FILE, 'utf8')) as Array<{ redirect_uris?: string[] }>
  for (const client of clients) {
    if (client.redirect_uris) client.redirect_uris = client.redirect_uris.map((uri) => uri.startsWith(`${DOCUMENTED_ORIGIN}/`) ? origin + uri.slice(DOCUMENTED_ORIGIN.length) : uri)
  }
  return JSON.stringify(clients)
}

/** The signing key of the local mock-auth: a file in the data directory, or one in memory. */
async function localSigningKeys (dataDir: string): Promise<Record<string, string>> {
  if (dataDir === ':memory:') return { AUTH_SIGNING_KEYS_JSON: JSON.stringify({ keys: [await generateSigningKey()] }) }
  await loadOrCreateSigningKeys(dataDir)
  return { AUTH_SIGNING_KEYS_FILE: join(dataDir, SIGNING_KEYS_FILE_NAME) }
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
