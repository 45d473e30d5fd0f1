import t from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/app.ts'
import { createDeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import { localKeySet } from '../../shared/auth/key-set.ts'
import { METRICS_TRIGGER_SUBJECT } from '../../functions/record-metrics/config.ts'
import deliveryRoute from '../../functions/record-metrics/delivery-route.ts'
import { METRIC_SHARDS } from '../../shared/store/keys.ts'
import openMetricsRoute from '../../functions/record-metrics/open-metrics-route.ts'
import { startEventSink, type ReceivedEvent } from '../support/event-sink.ts'
import { aRecord, allRecordRoutes, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { createTestKeys } from '../support/tokens.ts'

const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'
const AUDIENCE = 'record-metrics'
const clusterKeys = await createTestKeys('cluster-sa-key')
const deliveryToken = (claims: Record<string, unknown> = {}) =>
  clusterKeys.sign({ iss: CLUSTER_ISSUER, aud: AUDIENCE, sub: METRICS_TRIGGER_SUBJECT, scope: undefined, client_id: undefined, tenant: undefined, ...claims }, { typ: 'JWT' })

const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  await app.register(allRecordRoutes, deps)
  await app.register(deliveryRoute, { ...deps, verifyDelivery: createDeliveryVerifier({ issuer: CLUSTER_ISSUER, audience: AUDIENCE, subjects: [METRICS_TRIGGER_SUBJECT], keys: localKeySet(clusterKeys.jwks), clockToleranceSeconds: 30 }) })
  await app.register(openMetricsRoute, { ...deps, tenants: ['acme'] })
}

/** Delivers a received event to `POST /` as the broker does (same headers and body, the Trigger's token). */
async function deliver (api: RecordsApiHarness, event: ReceivedEvent, authorization?: string) {
  const headers = Object.fromEntries(Object.entries(event.headers).filter(([name]) => name.startsWith('ce-') || name === 'content-type')) as Record<string, string>
  return api.app.inject({ method: 'POST', url: '/', headers: { ...headers, authorization: authorization ?? `Bearer ${await deliveryToken()}` }, payload: event.body })
}

async function metrics (api: RecordsApiHarness, query = '', claims: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return api.app.inject({ method: 'GET', url: `/v1/metrics${query}`, headers: { authorization: await api.bearer(claims), ...headers } })
}

t.test('record events delivered by the broker, twice and in reverse order, count once: GET /v1/metrics shows the live numbers', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { routes, sinkUrl: sink.url })
  const critical = await api.create(aRecord({ severity: 'critical' }))
  const high = await api.create(aRecord({ severity: 'high', asset: { name: 'web', type: 'service' } }))
  const low = await api.create(aRecord({ severity: 'low', category: 'misconfiguration' }))
  const patched = await api.app.inject({ method: 'PATCH', url: `/v1/records/${high.id}`, headers: { authorization: await api.bearer(), 'if-match': high.etag }, payload: { status: 'resolved' } })
  t.equal(patched.statusCode, 200)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/v1/records/${low.id}`, headers: { authorization: await api.bearer() } })).statusCode, 204)
  await api.settled()
  t.equal(sink.received.length, 5)

  const outcomes = []
  for (const event of [...sink.received].reverse()) outcomes.push((await deliver(api, event)).json().outcome)
  for (const event of sink.received) outcomes.push((await deliver(api, event)).json().outcome)
  t.same(outcomes.filter((outcome) => outcome === 'applied').length, 3, 'the newest event of each record counts, nothing else: created of the critical, resolved of the high, deleted of the low')

  const response = await metrics(api)
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.match(body, {
    open: { total: 1, bySeverity: { critical: 1, high: 0, low: 0 } },
    overdue: { total: 0 },
    records: { critical: { open: 1 }, high: { resolved: 1, open: 0 }, low: { open: 0 } },
    byCategory: { vulnerability: 1 },
    topAssets: [{ name: 'payments-api', open: 1 }],
    remediation: { high: { resolved: 1, medianSeconds: 60, p90Seconds: 60 }, critical: { resolved: 0, medianSeconds: null } },
    sla: { high: { days: 30, resolved: 1, resolvedInTime: 1, compliance: 1, openPastDue: 0 }, info: { days: null, compliance: null } }
  })
  t.equal(body.trend.length, 90)
  t.same(body.trend.at(-1), { day: new Date().toISOString().slice(0, 10), opened: 2, resolved: 1 })
  t.notOk(critical.id === undefined)

  const etag = String(response.headers.etag)
  t.match(etag, /^W\/"/)
  const again = await metrics(api, '', {}, { 'if-none-match': etag })
  t.equal(again.statusCode, 304, 'unchanged figures: 304')

  const asset = (await metrics(api, '?asset=web&window=7d')).json()
  t.match(asset, { asset: 'web', open: { total: 0 }, records: { high: { resolved: 1 } }, window: { days: 7 } })
  t.notOk('trend' in asset, 'the trend is the tenant\'s, not the asset\'s')

  const other = (await metrics(api, '', { tenant: 'other' })).json()
  t.equal(other.open.total, 0, 'another tenant sees none of it')
})

t.test('bad queries are 400s, a token without records:read a 403', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  for (const query of ['?window=0d', '?window=30', '?window=1000d', '?window=30d&window=7d', '?asset=', '?other=1']) {
    const response = await metrics(api, query)
    t.equal(response.statusCode, 400, query)
    t.match(response.headers['content-type'], /application\/problem\+json/)
  }
  t.equal((await metrics(api, '?window=366d')).statusCode, 200, 'a window past a year reads a year')
  t.equal((await metrics(api, '', { scope: 'records:write' })).statusCode, 403)
})

t.test('only the record events Trigger may deliver, and an event that can never count is a 400', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { routes, sinkUrl: sink.url })
  await api.create()
  await api.settled()
  const [event] = sink.received
  for (const [name, authorization] of [['an API access token', await api.bearer()], ['another service account', `Bearer ${await deliveryToken({ sub: 'system:serviceaccount:security-records:ingest-finding-oidc-eventing.knative.dev-trigger' })}`], ['another audience', `Bearer ${await deliveryToken({ aud: 'ingest-finding' })}`]] as const) {
    t.equal((await deliver(api, event!, authorization)).statusCode, 401, name)
  }
  t.equal((await metrics(api)).json().open.total, 0, 'nothing was counted')
  const forged = { ...event!, headers: { ...event!.headers, 'ce-tenant': 'other' } }
  t.equal((await deliver(api, forged)).statusCode, 400, 'a tenant extension that is not the source\'s')
  const wrongVersion = { ...event!, headers: { ...event!.headers, 'ce-id': `${String(event!.headers['ce-subject'])}/7` } }
  t.equal((await deliver(api, wrongVersion)).statusCode, 400, 'an id naming another version than the data')
  const notJson = { ...event!, body: '{"id":' }
  t.equal((await deliver(api, notJson)).statusCode, 400, 'data that is not JSON')
  const other = { ...event!, headers: { ...event!.headers, 'ce-type': 'com.mediamarktsaturn.security.finding.reported' } }
  t.equal((await deliver(api, other)).statusCode, 400, 'another event type')
  t.equal((await deliver(api, event!)).statusCode, 200)
  t.equal((await metrics(api)).json().open.total, 1)
})

t.test('/metrics: OpenMetrics text with the opted-in tenant\'s counters and the process metrics', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { routes, sinkUrl: sink.url })
  await api.create()
  await api.create(aRecord({ severity: 'high' }), { tenant: 'other' })
  await api.settled()
  for (const event of sink.received) t.equal((await deliver(api, event)).statusCode, 200)
  const response = await api.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/openmetrics-text; version=1\.0\.0/)
  t.match(response.body, /^security_records_open\{tenant="acme",severity="critical"\} 1$/m)
  t.match(response.body, /^record_metrics_process_cpu_user_seconds_total /m)
  t.notMatch(response.body, /tenant="other"/, 'a tenant that did not opt in is not exposed')
  t.match(response.body, /# EOF\n$/)
})

t.test('GET /v1/metrics sends the same store requests for a tenant of 3 records and one of 150, none of them a Scan', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const facts = (i: number) => ({ severity: (['critical', 'high', 'medium'] as const)[i % 3]!, status: (['open', 'resolved'] as const)[i % 2]!, category: 'vulnerability', asset: `asset-${i % 12}`, createdAt: new Date(Date.now() - (i % 60) * 86_400_000).toISOString(), statusChangedAt: new Date().toISOString() })
  for (let i = 0; i < 3; i++) await api.data.metrics.apply('small', `s${i}`, 1, facts(i))
  for (let i = 0; i < 150; i++) await api.data.metrics.apply('large', `l${i}`, 1, facts(i))
  const requestsOf = async (tenant: string) => {
    const before = api.store.commands.length
    const response = await metrics(api, '?window=90d', { tenant })
    t.equal(response.statusCode, 200)
    // Less the summary's PutItem: kept or not after the read depending on how long ago the tenant's last change was.
    return api.store.commands.slice(before).map((command) => command.name).filter((name) => name !== 'PutItemCommand').sort()
  }
  const small = await requestsOf('small')
  const large = await requestsOf('large')
  t.same(large, small, 'the same requests, whatever the tenant\'s size')
  t.notOk(small.includes('ScanCommand'))
  t.same(small.filter((name) => name !== 'GetItemCommand'), [...Array(4).fill('BatchGetItemCommand'), ...Array(METRIC_SHARDS).fill('QueryCommand')], 'a BatchGetItem of the kept summary with the shards\' change counts (none kept yet), one of the counts shards with today\'s due blocks, one of the 90-day window\'s remediation blocks and edge days, one of the trend blocks; a top-asset Query per shard (beside the token\'s revocation check)')
  t.equal((await metrics(api, '', { tenant: 'large' })).json().open.total, 75)
})

t.test('deliveries paused (while the counters are rewritten): every delivery is a 503 with Retry-After and counts nothing; redelivered after the pause, it counts', async (t) => {
  const sink = await startEventSink(t)
  const verifyDelivery = createDeliveryVerifier({ issuer: CLUSTER_ISSUER, audience: AUDIENCE, subjects: [METRICS_TRIGGER_SUBJECT], keys: localKeySet(clusterKeys.jwks), clockToleranceSeconds: 30 })
  const pausable: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
    await app.register(allRecordRoutes, deps)
    await app.register(async (inner) => {
      await inner.register(deliveryRoute, { ...deps, verifyDelivery, paused: true })
    }, { prefix: '/paused' })
    await app.register(deliveryRoute, { ...deps, verifyDelivery })
  }
  const api = await buildRecordsApi(t, { routes: pausable, sinkUrl: sink.url })
  await api.create(aRecord({ severity: 'critical' }))
  await api.settled()
  const [event] = sink.received
  const headers = Object.fromEntries(Object.entries(event!.headers).filter(([name]) => name.startsWith('ce-') || name === 'content-type')) as Record<string, string>
  const refused = await api.app.inject({ method: 'POST', url: '/paused/', headers: { ...headers, authorization: `Bearer ${await deliveryToken()}` }, payload: event!.body })
  t.equal(refused.statusCode, 503)
  t.ok(refused.headers['retry-after'])
  t.match(refused.json(), { status: 503, title: 'Counting paused' })
  t.equal((await metrics(api)).json().open.total, 0, 'nothing counted')
  t.equal((await deliver(api, event!)).json().outcome, 'applied', 'the redelivery after the pause counts')
  t.equal((await metrics(api)).json().open.total, 1)
})
