import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createStore } from '../../../shared/store/client.ts'
import { ensureTable } from '../../../shared/store/table.ts'
import { assertProblem, buildHardenedApi, problemViolation, startControlledStore, type HardenedApi } from './harness.ts'
import { INTERNALS, startHangingStore, startStoreProxy } from './store-faults.ts'

/** What a function would be configured with; an outage must be answered within about attempts × timeout (+ backoff). */
const STORE_TIMEOUT_MS = 1000
const STORE_MAX_ATTEMPTS = 3
const WORST_CASE_MS = STORE_MAX_ATTEMPTS * STORE_TIMEOUT_MS + 2000

function assertUnavailable (t: Test, response: { statusCode: number, headers: Record<string, unknown>, body: string }, what: string) {
  assertProblem(t, response, 503, `${what}: 503 problem+json`)
  t.match(JSON.parse(response.body), { title: 'Store unavailable', type: /store-unavailable$/ }, `${what}: says the store is unavailable`)
  t.ok(Number(response.headers['retry-after']) >= 1, `${what}: Retry-After ${String(response.headers['retry-after'])}`)
  t.notMatch(response.body, INTERNALS, `${what}: no SDK or transport internals in the body`)
}

async function timed<T> (operation: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await operation()
  return [result, performance.now() - started]
}

t.test('the store stops mid-run: every route answers 503 + Retry-After in time; restarted on the same port, the same process recovers', async (t) => {
  const controlled = await startControlledStore(t)
  const api = await buildHardenedApi(t, { store: controlled.client({ timeoutMs: STORE_TIMEOUT_MS, maxAttempts: STORE_MAX_ATTEMPTS }) })
  const authorization = await api.bearer()
  const record = await api.create()
  const routes = (id: string) => [
    { method: 'GET' as const, url: `/v1/records/${id}` },
    { method: 'GET' as const, url: '/v1/records' },
    { method: 'GET' as const, url: `/v1/records/${id}/history` },
    { method: 'PATCH' as const, url: `/v1/records/${id}`, headers: { 'if-match': '"1"', 'content-type': 'application/merge-patch+json' }, payload: '{"assignee":"x"}' },
    { method: 'DELETE' as const, url: `/v1/records/${id}` },
    { method: 'POST' as const, url: '/v1/records', payload: { title: 'x', category: 'other', severity: 'low', asset: { name: 'x', type: 'service' } } }
  ]

  // Load before, during and after the outage: 8 clients reading in a loop.
  const seen: Array<{ status: number, ms: number, body: string, headers: Record<string, unknown> }> = []
  let running = true
  const client = async () => {
    while (running) {
      const [response, ms] = await timed(() => api.app.inject({ method: 'GET', url: `/v1/records/${record.id}`, headers: { authorization } }))
      seen.push({ status: response.statusCode, ms, body: response.body, headers: response.headers })
      await sleep(10)
    }
  }
  const load = Promise.all(Array.from({ length: 8 }, client))
  await sleep(300)

  await controlled.stop()
  const down = await api.app.inject({ method: 'GET', url: '/healthz' })
  assertUnavailable(t, down, '/healthz while the store is down')
  for (const route of routes(record.id)) {
    const [response, ms] = await timed(() => api.app.inject({ ...route, headers: { authorization, ...route.headers } }))
    assertUnavailable(t, response, `${route.method} ${route.url}`)
    t.ok(ms < WORST_CASE_MS, `${route.method} ${route.url}: answered in ${Math.round(ms)} ms (< ${WORST_CASE_MS})`)
  }
  // A token never seen before needs the revocation list, which is in the store too.
  assertUnavailable(t, await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ client_id: 'newcomer' }) } }), 'a new token while the store is down')
  await sleep(500)

  await controlled.start()
  const restarted = performance.now()
  let recoveryMs = -1
  while (performance.now() - restarted < 10_000) {
    if ((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode === 200) {
      recoveryMs = performance.now() - restarted
      break
    }
    await sleep(20)
  }
  t.ok(recoveryMs >= 0, `healthy again ${Math.round(recoveryMs)} ms after the store came back`)
  await sleep(300)
  running = false
  await load

  const read = await api.app.inject({ method: 'GET', url: `/v1/records/${record.id}`, headers: { authorization } })
  t.equal(read.statusCode, 200, 'the same process serves the record again')
  t.equal(read.json().version, 1, 'nothing was half-written during the outage')
  const patched = await api.app.inject({ method: 'PATCH', url: `/v1/records/${record.id}`, headers: { authorization, 'if-match': '"1"', 'content-type': 'application/merge-patch+json' }, payload: '{"assignee":"after the outage"}' })
  t.equal(patched.statusCode, 200, 'and writes again')

  const statuses = new Map<number, number>()
  for (const entry of seen) statuses.set(entry.status, (statuses.get(entry.status) ?? 0) + 1)
  t.same([...statuses.keys()].filter((status) => status !== 200 && status !== 503), [], `the load saw only 200 and 503: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok(seen.filter((entry) => entry.status === 503).every((entry) => problemViolation(503, entry.headers, entry.body, { min: 503, max: 503 }) === undefined && entry.headers['retry-after']), 'every 503 under load is a problem with Retry-After')
  t.ok(seen.every((entry) => entry.ms < WORST_CASE_MS), `no request hung (slowest ${Math.round(Math.max(...seen.map((entry) => entry.ms)))} ms)`)
  t.equal(seen.at(-1)?.status, 200, 'the load ends on 200s')
  t.comment(`outage: ${seen.length} requests under load ${JSON.stringify(Object.fromEntries(statuses))}; recovered ${Math.round(recoveryMs)} ms after the store restarted`)
})

t.test('a store that accepts connections and never answers: 503 within attempts × STORE_TIMEOUT_MS, never a hang', async (t) => {
  const hanging = await startHangingStore(t)
  const store = createStore({ DYNAMODB_ENDPOINT: hanging.endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 500, STORE_MAX_ATTEMPTS: 2, TABLE_NAME: 'hanging' }, {})
  t.teardown(() => store.client.destroy())
  const api = await buildHardenedApi(t, { store })
  const [health, healthMs] = await timed(() => api.app.inject({ method: 'GET', url: '/healthz' }))
  assertUnavailable(t, health, '/healthz')
  const [read, readMs] = await timed(async () => api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer() } }))
  assertUnavailable(t, read, 'GET /v1/records')
  for (const ms of [healthMs, readMs]) t.ok(ms >= 900 && ms < 2 * 500 + 3000, `gave up after ${Math.round(ms)} ms (2 attempts × 500 ms + backoff)`)
  t.ok(hanging.connections() >= 2, `the SDK retried (${hanging.connections()} connections)`)
  t.comment(`hanging store: 503 after ${Math.round(healthMs)} ms and ${Math.round(readMs)} ms with STORE_TIMEOUT_MS=500, STORE_MAX_ATTEMPTS=2`)
})

t.test('throttling: retried with backoff by the SDK; a short burst is invisible, a lasting one becomes a 503', async (t) => {
  const controlled = await startControlledStore(t)
  const proxy = await startStoreProxy(t, controlled.endpoint)
  const store = createStore({ DYNAMODB_ENDPOINT: proxy.endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: STORE_TIMEOUT_MS, STORE_MAX_ATTEMPTS: STORE_MAX_ATTEMPTS, TABLE_NAME: controlled.tableName }, {})
  t.teardown(() => store.client.destroy())
  await ensureTable(store.client, controlled.tableName)
  const api: HardenedApi = await buildHardenedApi(t, { store })
  const authorization = await api.bearer()
  const record = await api.create()

  proxy.throttle(2)
  let first = proxy.requests.length
  const survived = await api.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(survived.statusCode, 200, 'two throttled attempts, the third succeeds: the client never notices')
  t.same(proxy.requests.slice(first).map((entry) => entry.throttled), [true, true, false])

  proxy.throttle(Infinity)
  first = proxy.requests.length
  const [response, ms] = await timed(() => api.app.inject({ method: 'GET', url: `/v1/records/${record.id}`, headers: { authorization } }))
  assertUnavailable(t, response, 'lasting throttling')
  const attempts = proxy.requests.slice(first)
  t.equal(attempts.length, STORE_MAX_ATTEMPTS, `${STORE_MAX_ATTEMPTS} attempts, then the 503`)
  const gaps = attempts.slice(1).map((entry, i) => Math.round(entry.at - attempts[i]!.at))
  // Throttling backs off from a 500 ms base (full jitter, doubling): up to 0.5 s + 1 s + 2 s on top of the attempts.
  t.ok(ms < WORST_CASE_MS + 3500, `answered in ${Math.round(ms)} ms`)
  t.comment(`throttling: ${attempts.length} attempts, backoff gaps ${gaps.join(' ms, ')} ms (SDK standard retry, full jitter, 500 ms throttling base)`)
  proxy.throttle(0)
})
