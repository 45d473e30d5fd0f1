import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { HEALTH_CHECK_OK_FOR_MS } from '../../../shared/health-check.ts'
import { createStore } from '../../../shared/store/client.ts'
import { ensureTable } from '../../../shared/store/table.ts'
import { buildHardenedApi, startControlledStore } from '../resilience/harness.ts'
import { startStoreProxy } from '../resilience/store-faults.ts'

/**
 * `/healthz` needs no credentials. Before, every call was a store read: 4–64 concurrent calls
 * pushed legitimate requests to seconds. Now one check per HEALTH_CHECK_OK_FOR_MS answers them all.
 */
t.test('64 concurrent /healthz calls cost the store one read per period; a failed check is not reused', async (t) => {
  const controlled = await startControlledStore(t)
  const proxy = await startStoreProxy(t, controlled.endpoint)
  const store = createStore({ DYNAMODB_ENDPOINT: proxy.endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: 1000, STORE_MAX_ATTEMPTS: 1, TABLE_NAME: controlled.tableName }, {})
  t.teardown(() => store.client.destroy())
  await ensureTable(store.client, controlled.tableName)
  const api = await buildHardenedApi(t, { store })
  const health = () => api.app.inject({ method: 'GET', url: '/healthz' })

  let before = proxy.requests.length
  const flood = await Promise.all(Array.from({ length: 64 }, health))
  t.same(flood.map((response) => response.statusCode), Array(64).fill(200), 'every call answered 200')
  t.equal(proxy.requests.length - before, 1, 'one store read for all of them')
  before = proxy.requests.length
  await Promise.all(Array.from({ length: 64 }, health))
  t.equal(proxy.requests.length - before, 0, 'none within the period')

  await sleep(HEALTH_CHECK_OK_FOR_MS + 50)
  proxy.throttle(1)
  before = proxy.requests.length
  const failed = await Promise.all(Array.from({ length: 16 }, health))
  t.same(failed.map((response) => response.statusCode), Array(16).fill(503), 'a failed check answers every call waiting for it')
  t.equal(proxy.requests.length - before, 1, 'with one store read')
  t.equal((await health()).statusCode, 200, 'the next call checks again: a failure is never reused')
})
