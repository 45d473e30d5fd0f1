import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { createStore, type Store } from '../../shared/store/client.ts'
import { ensureTable } from '../../shared/store/table.ts'
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../../test/support/tokens.ts'
import { firstJsonLine, startChild } from './processes.ts'

export const BENCH_TENANT = 'bench'
export const OTHER_TENANT = 'bench-other'
export const CURSOR_SECRET = 'bench-cursor-secret-0123456789-abcdef'

/** Where the harness's helper programs live. */
export const benchFile = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url))

/** The store every measurement shares: dynalite in its own process, and an SDK client on it. */
export interface BenchStore extends Store {
  endpoint: string
  /** The store's process (its CPU time and memory can be read). */
  pid: number
  close (): Promise<void>
}

export async function startBenchStore (tableName = 'security-records-bench', createTable: (store: Store) => Promise<unknown> = (store) => ensureTable(store.client, tableName)): Promise<BenchStore> {
  const child = startChild(benchFile('lib/store-server.ts'), [], { PATH: process.env.PATH }, { stdin: true })
  const { endpoint } = await firstJsonLine<{ endpoint: string }>(child)
  const store = openStore(endpoint, tableName)
  await createTable(store)
  return {
    ...store,
    endpoint,
    pid: child.process.pid!,
    async close () {
      store.client.destroy()
      await child.stop()
    }
  }
}

/** An SDK client exactly as a function configures it (same timeouts, retries, marshalling). */
export function openStore (endpoint: string, tableName: string): Store {
  return createStore({ DYNAMODB_ENDPOINT: endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 5000, STORE_MAX_ATTEMPTS: 3, TABLE_NAME: tableName }, {})
}

/** A signing key of our own, published as a JWKS over loopback, as an issuer would. */
export interface BenchIssuer {
  keys: TestKeys
  issuer: string
  audience: string
  jwksUrl: string
  /** A token with every records scope for a tenant. */
  token (tenant?: string): Promise<string>
  close (): Promise<void>
}

export async function startBenchIssuer (): Promise<BenchIssuer> {
  const keys = await createTestKeys(`bench-${randomUUID()}`)
  const body = JSON.stringify(keys.jwks)
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(body)
  })
  const base = await listen(server)
  return {
    keys,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwksUrl: `${base}/jwks`,
    token: (tenant = BENCH_TENANT) => keys.sign({ tenant, sub: 'client:bench', client_id: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

export async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/**
 * The settings a function's Knative Service writes into its container's environment
 * (`knative/base/functions/<name>.yaml`, e.g. NODE_OPTIONS with the V8 heap sizes, MALLOC_ARENA_MAX):
 * the bench starts each bundle with them, so the memory and throughput it measures are those of the
 * process production runs. Settings from a Secret or the ConfigMap are the bench's own (its store,
 * its issuer, its key). The Service's `args` must name the bundle only: node flags go in NODE_OPTIONS.
 */
export function deployedEnv (name: string): Record<string, string> {
  const file = fileURLToPath(new URL(`../../knative/base/functions/${name}.yaml`, import.meta.url))
  const container = (parse(readFileSync(file, 'utf8')) as { spec: { template: { spec: { containers: DeployedContainer[] } } } }).spec.template.spec.containers[0]!
  const bundle = `dist/functions/${name}/index.mjs`
  if (container.args?.length !== 1 || container.args[0] !== bundle) {
    throw new Error(`${file}: args must be [${bundle}] (the bench starts \`node <bundle>\`; node flags belong in NODE_OPTIONS), not ${JSON.stringify(container.args)}`)
  }
  return Object.fromEntries((container.env ?? []).flatMap((entry) => entry.value === undefined ? [] : [[entry.name, entry.value]]))
}

interface DeployedContainer {
  args?: string[]
  env?: Array<{ name: string, value?: string }>
}

/** The environment a record function bundle starts with: its deployed settings, then the bench's store, issuer and port (shared/config.ts). */
export function recordFunctionEnv (name: string, store: BenchStore, issuer: BenchIssuer, port: number): Record<string, string | undefined> {
  return {
    ...deployedEnv(name),
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URL: issuer.jwksUrl,
    CURSOR_SECRET,
    DYNAMODB_ENDPOINT: store.endpoint,
    TABLE_NAME: store.tableName
  }
}

/** mock-auth's environment (functions/mock-auth/config.ts): the local client registry and a fresh key. */
export function mockAuthEnv (store: BenchStore, port: number, signingKeysJson: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    AUTH_ISSUER: `http://127.0.0.1:${port}`,
    AUTH_CLIENTS_JSON: readFileSync(fileURLToPath(new URL('../../local-dev/auth-clients.local.json', import.meta.url)), 'utf8'),
    AUTH_SIGNING_KEYS_JSON: signingKeysJson,
    DYNAMODB_ENDPOINT: store.endpoint,
    TABLE_NAME: store.tableName
  }
}

export interface HttpResult {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * A minimal keep-alive HTTP client for the latency loops: node:http with one pooled socket per
 * concurrent caller, so each timed call is one request on a warm connection (as the SDK's are).
 */
export function createHttpClient (base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  return {
    base,
    call (method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<HttpResult> {
      return new Promise((resolve, reject) => {
        const req = request(`${base}${path}`, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }))
          response.once('error', reject)
        })
        req.once('error', reject)
        req.end(body)
      })
    },
    close () { agent.destroy() }
  }
}

export type HttpClient = ReturnType<typeof createHttpClient>

/** Calls and insists on the status: a benchmark of error responses measures nothing. */
export async function expectStatus (result: Promise<HttpResult>, status: number, what: string): Promise<HttpResult> {
  const response = await result
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}: ${response.body.slice(0, 300)}`)
  return response
}
