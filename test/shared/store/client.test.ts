import { GetCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { createStore } from '../../../shared/store/client.ts'
import { healthProbeKey } from '../../../shared/store/keys.ts'
import { startTestStore } from '../../support/store.ts'
import { startStoreProxy } from '../../system/resilience/store-faults.ts'

/**
 * A list sends one Query per index shard at once, so a function with a few dozen lists in flight
 * has a few hundred store calls in flight. The SDK's own HTTP agent holds 50 sockets and queues
 * the rest, and its per-attempt requestTimeout counts the time queued for a socket: against a
 * slow store, calls that only waited for a socket timed out (and were retried, adding load).
 */
t.test('store calls in flight beyond the SDK default of 50 sockets each get their own connection: the timeout measures the store, not a queue', async (t) => {
  const upstream = await startTestStore()
  t.teardown(() => upstream.close())
  const proxy = await startStoreProxy(t, upstream.endpoint)
  // The store answers each call after DELAY_MS; a call queued behind two rounds of 50 would
  // reach TIMEOUT_MS before its answer, one sent at once has DELAY_MS of slack for this machine.
  const DELAY_MS = 1000
  const TIMEOUT_MS = 2500
  const store = createStore({ DYNAMODB_ENDPOINT: proxy.endpoint, AWS_REGION: 'eu-central-1', STORE_TIMEOUT_MS: TIMEOUT_MS, STORE_MAX_ATTEMPTS: 1, TABLE_NAME: upstream.tableName }, {})
  t.teardown(() => store.client.destroy())

  // 30 lists × 4 shards: with 50 sockets, the last 20 calls would wait 2 × DELAY_MS for a socket.
  const CALLS = 120
  proxy.delay(DELAY_MS)
  const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, () =>
    store.documents.send(new GetCommand({ TableName: upstream.tableName, Key: healthProbeKey }))))
  const failed = outcomes.filter((outcome) => outcome.status === 'rejected')
  t.equal(failed.length, 0, `all ${CALLS} concurrent store calls answered${failed.length > 0 ? `; first failure: ${String((failed[0] as PromiseRejectedResult).reason)}` : ''}`)
  t.equal(proxy.requests.length, CALLS, 'each reached the store once (no retry)')
})
