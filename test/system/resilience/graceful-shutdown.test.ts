import { spawn } from 'node:child_process'
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { TEST_CURSOR_SECRET } from '../../support/records-api.ts'
import { startTestStore } from '../../support/store.ts'
import { TEST_AUDIENCE, TEST_ISSUER } from '../../support/tokens.ts'
import { buildHardenedApi } from './harness.ts'
import { startStoreProxy } from './store-faults.ts'

const IN_FLIGHT = 50
/** The function's own limit (shared/server.ts) before it gives up draining and exits 1. */
const SHUTDOWN_GRACE_MS = 25_000

/** One GET on a connection of its own: status and body, or the network error. */
function get (port: number, path: string, authorization: string): Promise<{ status: number, body: string } | { error: string }> {
  return new Promise((resolve) => {
    const outgoing = request({ host: '127.0.0.1', port, path, headers: { authorization }, agent: false }, (response: IncomingMessage) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }))
    outgoing.end()
  })
}

t.test(`SIGTERM during ${IN_FLIGHT} in-flight requests (a real get-record process): it stops accepting, every in-flight request completes, it exits 0 within the grace period`, async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const api = await buildHardenedApi(t, { store })
  const record = await api.create()
  const authorization = await api.bearer()
  const proxy = await startStoreProxy(t, store.endpoint)

  // The issuer's JWKS, served like an authorization server would.
  const jwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(api.keys.jwks)))
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => jwks.close(() => resolve())))

  const child = spawn(process.execPath, ['functions/get-record/index.ts'], {
    cwd: new URL('../../..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      // Any free port, bound by the function itself (a port picked here first could be taken before it binds).
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      AUTH_ISSUER: TEST_ISSUER,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      CURSOR_SECRET: TEST_CURSOR_SECRET,
      DYNAMODB_ENDPOINT: proxy.endpoint,
      TABLE_NAME: store.tableName,
      // The warm-up's revocation answer stays cached: each request below makes exactly one store call.
      REVOCATION_CACHE_MS: '60000',
      // All 50 requests are one tenant's and must be in flight at once: this is about draining, not fairness.
      TENANT_REQUESTS_IN_FLIGHT: String(IN_FLIGHT)
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const path = `/v1/records/${record.id}`
  const startedAt = performance.now()
  let port = 0
  while (port === 0) {
    if (child.exitCode !== null) throw new Error(`get-record exited early: ${output}`)
    port = Number(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? 0)
    if (performance.now() - startedAt > 20_000) throw new Error(`get-record did not say where it listens: ${output}`)
    await sleep(50)
  }
  for (;;) {
    if (child.exitCode !== null) throw new Error(`get-record exited early: ${output}`)
    const warm = await get(port, path, authorization)
    if ('status' in warm && warm.status === 200) break
    if (performance.now() - startedAt > 20_000) throw new Error(`get-record did not come up: ${output}`)
    await sleep(50)
  }

  // Every store call now takes 800 ms: the requests below are all in flight when SIGTERM arrives.
  proxy.delay(800)
  const before = proxy.requests.length
  const inFlight = Array.from({ length: IN_FLIGHT }, () => get(port, path, authorization))
  while (proxy.requests.length - before < IN_FLIGHT) await sleep(5)
  const signalled = performance.now()
  child.kill('SIGTERM')

  // Connections still arriving are accepted until none came for 100 ms (a client sent them before it could know); then none.
  await sleep(300)
  const afterSignal = await get(port, path, authorization)
  t.same(afterSignal, { error: 'ECONNREFUSED' }, 'a new connection once connections stopped arriving is refused, while requests are still in flight: it stopped accepting')

  const results = await Promise.all(inFlight)
  const failed = results.filter((result) => !('status' in result) || result.status !== 200)
  t.equal(failed.length, 0, `none of the ${IN_FLIGHT} in-flight requests failed${failed.length > 0 ? `: ${JSON.stringify(failed.slice(0, 3))}` : ''}`)
  t.ok(results.every((result) => 'body' in result && JSON.parse(result.body).id === record.id), 'each got the record')

  const code = await exited
  const exitMs = performance.now() - signalled
  t.equal(code, 0, 'exit code 0')
  t.ok(exitMs < SHUTDOWN_GRACE_MS, `exited ${Math.round(exitMs)} ms after SIGTERM (grace ${SHUTDOWN_GRACE_MS} ms)`)
  t.match(output, /SIGTERM received, draining/, 'it said it was draining')
  t.comment(`graceful shutdown: ${IN_FLIGHT} in flight at SIGTERM, ${failed.length} dropped, exit 0 after ${Math.round(exitMs)} ms`)
})
