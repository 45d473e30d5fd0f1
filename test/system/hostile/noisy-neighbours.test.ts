import t from 'tap'
import { loadConfig } from '../../../shared/config.ts'
import { createStore } from '../../../shared/store/client.ts'
import { assertProblem, buildHardenedApi, startControlledStore } from '../resilience/harness.ts'
import { startStoreProxy } from '../resilience/store-faults.ts'

/**
 * One tenant at 64 concurrent creates moved another tenant's p50 from 8 to 416 ms: every request of
 * the flood ran at once in the instance the other tenant's requests needed. Now a tenant runs at most
 * TENANT_REQUESTS_IN_FLIGHT requests per instance, TENANT_REQUESTS_QUEUED more wait behind its own,
 * and the rest get a 429; another tenant finds its own places free.
 */
t.test('a tenant past its running and waiting requests gets a 429 with Retry-After while another tenant is served ahead of its queue', async (t) => {
  const controlled = await startControlledStore(t)
  const proxy = await startStoreProxy(t, controlled.endpoint)
  const store = createStore({ DYNAMODB_ENDPOINT: proxy.endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 5000, STORE_MAX_ATTEMPTS: 1, TABLE_NAME: controlled.tableName }, {})
  t.teardown(() => store.client.destroy())
  const api = await buildHardenedApi(t, {
    store,
    config: { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 100_000, TENANT_REQUESTS_IN_FLIGHT: 2, TENANT_REQUESTS_QUEUED: 3 }
  })
  const noisy = await api.bearer({ tenant: 'noisy', client_id: 'noisy-scanner' })
  const quiet = await api.bearer({ tenant: 'quiet', client_id: 'quiet-console' })
  const list = (authorization: string) => api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  // Warm: the tokens' revocation checks are cached, so each list is one store read from here on.
  await list(noisy)
  await list(quiet)

  proxy.delay(200)
  const finished: string[] = []
  const flood = Array.from({ length: 10 }, () => list(noisy).then((response) => { finished.push(`noisy ${response.statusCode}`); return response }))
  const other = list(quiet).then((response) => { finished.push(`quiet ${response.statusCode}`); return response })
  const answers = await Promise.all(flood)

  const statuses = answers.map((response) => response.statusCode).sort()
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429], 'two run, three wait, five are refused')
  for (const refused of answers.filter((response) => response.statusCode === 429)) {
    assertProblem(t, refused, 429)
    t.match(refused.json(), { type: /rate-limited$/, detail: /2 requests running at this instance and 3 waiting/ })
    t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After')
  }
  t.equal((await other).statusCode, 200, 'the other tenant is served')
  const quietAt = finished.indexOf('quiet 200')
  t.ok(quietAt < finished.lastIndexOf('noisy 200'), `the other tenant did not wait behind the noisy tenant's queue: ${finished.join(', ')}`)
})

t.test('a tenant\'s place is given back whatever the answer: errors, refusals and a waiting turn all end', async (t) => {
  const api = await buildHardenedApi(t, { config: { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 100_000, TENANT_REQUESTS_IN_FLIGHT: 1, TENANT_REQUESTS_QUEUED: 0 } })
  const authorization = await api.bearer()
  for (let i = 0; i < 5; i++) {
    assertProblem(t, await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': 'application/json' }, payload: '{not json' }), 400, `bad JSON ${i}`)
    assertProblem(t, await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: { title: 'no category' } }), 400, `invalid body ${i}`)
    assertProblem(t, await api.app.inject({ method: 'GET', url: '/v1/records/01938f2e-8b7a-7000-8000-000000000000', headers: { authorization } }), 404, `unknown record ${i}`)
  }
  t.equal((await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })).statusCode, 200, 'one place, still free after fifteen errors')
})

t.test('requests without a tenant (health) are never counted, and RATE_LIMIT=off lifts the caps (benchmarks)', async (t) => {
  const capped = await buildHardenedApi(t, { config: { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 100_000, TENANT_REQUESTS_IN_FLIGHT: 1, TENANT_REQUESTS_QUEUED: 0 } })
  const health = await Promise.all(Array.from({ length: 20 }, () => capped.app.inject({ method: 'GET', url: '/healthz' })))
  t.same(health.map((response) => response.statusCode), Array(20).fill(200))

  const off = await buildHardenedApi(t, { config: { RATE_LIMIT: 'off', TENANT_REQUESTS_IN_FLIGHT: 1, TENANT_REQUESTS_QUEUED: 0 } })
  const authorization = await off.bearer()
  const lists = await Promise.all(Array.from({ length: 20 }, () => off.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })))
  t.same(lists.map((response) => response.statusCode), Array(20).fill(200))

  const required = { AUTH_ISSUER: 'https://issuer.example', AUTH_JWKS_URL: 'https://issuer.example/jwks', CURSOR_SECRET: 'c'.repeat(32) }
  t.match(loadConfig(required), { TENANT_REQUESTS_IN_FLIGHT: 16, TENANT_REQUESTS_QUEUED: 64 }, 'on by default: 16 running, 64 waiting per tenant and instance')
})
