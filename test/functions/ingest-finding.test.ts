import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import { HTTP } from 'cloudevents'
import type { RouteDeps } from '../../shared/app.ts'
import { createDeliveryVerifier } from '../../shared/auth/delivery-auth.ts'
import { localKeySet } from '../../shared/auth/key-set.ts'
import { TRIGGER_SUBJECT } from '../../functions/ingest-finding/config.ts'
import ingestFindingRoute from '../../functions/ingest-finding/route.ts'
import { createEventSink } from '../../shared/events/record-events.ts'
import { startEventSink } from '../support/event-sink.ts'
import { aRecord, allRecordRoutes, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { createTestKeys, type TestKeys } from '../support/tokens.ts'

/** The cluster's service account issuer, as Knative Eventing's OIDC tokens name it (a key of this test). */
const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'
const DELIVERY_AUDIENCE = 'ingest-finding'
const clusterKeys: TestKeys = await createTestKeys('cluster-sa-key')

/** A token as Knative Eventing sends with a Trigger's delivery (a service account token, not an access token). */
function deliveryToken (claims: Record<string, unknown> = {}): Promise<string> {
  return clusterKeys.sign({ iss: CLUSTER_ISSUER, aud: DELIVERY_AUDIENCE, sub: TRIGGER_SUBJECT, scope: undefined, client_id: undefined, tenant: undefined, ...claims }, { typ: 'JWT' })
}

function routesWith (sinkUrl?: string, tokenFile?: string): FastifyPluginAsync<RouteDeps> {
  const verifyDelivery = createDeliveryVerifier({ issuer: CLUSTER_ISSUER, audience: DELIVERY_AUDIENCE, subjects: [TRIGGER_SUBJECT], keys: localKeySet(clusterKeys.jwks), clockToleranceSeconds: 30 })
  return async (app, deps) => {
    await app.register(allRecordRoutes, deps)
    await app.register(ingestFindingRoute, { ...deps, verifyDelivery, findingSink: createEventSink(sinkUrl, { tokenFile }) })
  }
}
const routes = routesWith()

let eventCounter = 0
function binaryEvent (data: unknown, overrides: Record<string, string | undefined> = {}) {
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': `scan-${++eventCounter}`,
    'ce-source': '/scanners/trivy',
    'ce-type': 'com.mediamarktsaturn.security.finding.reported',
    'content-type': 'application/json'
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete headers[key]
    else headers[key] = value
  }
  return { headers, payload: JSON.stringify(data) }
}

/** A finding posted to the local path with a token of the tenant (acme unless told). */
async function report (api: RecordsApiHarness, data: unknown, overrides: Record<string, string | undefined> = {}, claims: Record<string, unknown> = {}) {
  const event = binaryEvent(data, overrides)
  const authorization = 'authorization' in overrides ? overrides.authorization : await api.bearer(claims)
  const headers = { ...event.headers, ...(authorization === undefined ? {} : { authorization }) }
  return api.app.inject({ method: 'POST', url: '/events/findings', headers, payload: event.payload })
}

async function read (api: RecordsApiHarness, id: string, tenant = 'acme') {
  return (await api.app.inject({ method: 'GET', url: `/v1/records/${id}`, headers: { authorization: await api.bearer({ tenant }) } })).json()
}

async function setStatus (api: RecordsApiHarness, id: string, body: Record<string, unknown>) {
  const current = await read(api, id)
  const response = await api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization: await api.bearer(), 'if-match': `"${current.version}"`, 'content-type': 'application/json' }, payload: body })
  if (response.statusCode !== 200) throw new Error(response.body)
}

async function allRecords (api: RecordsApiHarness, tenant: string) {
  return (await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer({ tenant }) } })).json().items as Array<Record<string, unknown>>
}

const finding = aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094', source: { tool: 'trivy', scanId: 'scan-1' } })

t.test('a new finding creates a record in the token\'s tenant, attributed to the token (never to ce-source)', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const response = await report(api, finding, { 'ce-source': '/scanners/someone-else' }, { sub: 'client:trivy-ci', client_id: 'trivy-ci' })
  t.equal(response.statusCode, 200)
  t.match(response.json(), { outcome: 'created', version: 1 })
  const record = await read(api, response.json().id)
  t.match(record, { title: finding.title, fingerprint: finding.fingerprint, status: 'open', createdBy: 'client:trivy-ci' })
  const history = (await api.app.inject({ method: 'GET', url: `/v1/records/${record.id}/history`, headers: { authorization: await api.bearer() } })).json()
  t.match(history.items[0], { action: 'created', actor: { id: 'client:trivy-ci', clientId: 'trivy-ci' }, requestId: response.headers['x-request-id'], clientRequestId: /^scan-/ })
})

t.test('structured mode works too', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const response = await api.app.inject({
    method: 'POST',
    url: '/events/findings',
    headers: { authorization: await api.bearer(), 'content-type': 'application/cloudevents+json' },
    payload: JSON.stringify({ specversion: '1.0', id: 'structured-1', source: '/scanners/zap', type: 'com.mediamarktsaturn.security.finding.reported', datacontenttype: 'application/json', data: finding })
  })
  t.equal(response.statusCode, 200)
  t.equal(response.json().outcome, 'created')
})

t.test('a re-report updates scanner fields of the same record, keeps the human ones and merges tags', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const first = (await report(api, finding)).json()
  await setStatus(api, first.id, { status: 'triaged', assignee: 'team-payments', tags: ['supply-chain', 'pci'] })
  const again = await report(api, { ...finding, title: 'xz/liblzma backdoor (updated advisory)', references: ['https://nvd.nist.gov/vuln/detail/CVE-2024-3094'], tags: ['sbom'] })
  t.match(again.json(), { outcome: 'updated', id: first.id })
  const record = await read(api, first.id)
  t.match(record, { title: 'xz/liblzma backdoor (updated advisory)', status: 'triaged', assignee: 'team-payments', references: ['https://nvd.nist.gov/vuln/detail/CVE-2024-3094'] })
  t.same(record.tags, ['supply-chain', 'pci', 'sbom'])
})

t.test('an identical re-report changes nothing (redelivery is harmless)', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const first = (await report(api, finding)).json()
  const again = await report(api, finding)
  t.match(again.json(), { outcome: 'unchanged', id: first.id, version: 1 })
})

t.test('a re-report of a resolved finding reopens it', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const first = (await report(api, finding)).json()
  await setStatus(api, first.id, { status: 'resolved' })
  const again = await report(api, finding)
  t.equal(again.json().outcome, 'updated')
  t.equal((await read(api, first.id)).status, 'open')
})

t.test('a re-report never overrides a false positive or a running risk acceptance', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const first = (await report(api, finding)).json()
  await setStatus(api, first.id, { status: 'false_positive', statusReason: 'test fixture, not shipped' })
  await report(api, { ...finding, description: 'new scanner text' })
  const record = await read(api, first.id)
  t.match(record, { status: 'false_positive', statusReason: 'test fixture, not shipped', description: 'new scanner text' })

  const other = (await report(api, { ...finding, fingerprint: 'fp-accepted' })).json()
  await setStatus(api, other.id, { status: 'accepted_risk', statusReason: 'waf', riskAcceptance: { expiresAt: new Date(Date.now() + 86_400_000).toISOString(), approvedBy: 'ciso' } })
  await report(api, { ...finding, fingerprint: 'fp-accepted' })
  t.equal((await read(api, other.id)).status, 'accepted_risk')
})

t.test('a scanner reporting "resolved" resolves an active finding', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const first = (await report(api, finding)).json()
  await report(api, { ...finding, status: 'resolved' })
  t.equal((await read(api, first.id)).status, 'resolved')
})

t.test('the same fingerprint in two tenants makes two separate records', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const acme = (await report(api, finding)).json()
  const globex = (await report(api, finding, {}, { tenant: 'globex' })).json()
  t.not(acme.id, globex.id)
  t.equal((await read(api, globex.id, 'globex')).fingerprint, finding.fingerprint)
  t.equal((await api.app.inject({ method: 'GET', url: `/v1/records/${globex.id}`, headers: { authorization: await api.bearer({ tenant: 'acme' }) } })).statusCode, 404)
})

t.test('concurrent reports of one new finding make one record', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const responses = await Promise.all(Array.from({ length: 6 }, () => report(api, finding)))
  t.ok(responses.every((response) => response.statusCode === 200), responses.map((r) => r.statusCode).join(','))
  t.equal(new Set(responses.map((response) => response.json().id)).size, 1)
})

t.test('invalid events are 4xx problems, never retried forever', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const cases: Array<[string, unknown, Record<string, string | undefined>]> = [
    ['wrong type', finding, { 'ce-type': 'com.example.other' }],
    ['another tenant in the extension', finding, { 'ce-tenant': 'globex' }],
    ['no fingerprint', aRecord(), {}],
    ['invalid data', { ...finding, severity: 'urgent' }, {}],
    ['human status', { ...finding, status: 'false_positive' }, {}],
    ['not a CloudEvent', finding, { 'ce-specversion': undefined, 'ce-id': undefined }],
    ['data not JSON', 'not json', { 'content-type': 'text/plain' }]
  ]
  for (const [name, data, overrides] of cases) {
    const response = await report(api, data, overrides)
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${name}: ${response.statusCode}`)
    t.match(response.headers['content-type'], /application\/problem\+json/, name)
  }
  const list = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer() } })
  t.same(list.json().items, [], 'nothing was stored')
})

t.test('a forged reporter: no token, or a tenant extension naming another tenant, never writes that tenant\'s records', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const victim = (await report(api, finding, {}, { tenant: 'other' })).json()
  const downgrade = { ...finding, severity: 'info', status: 'resolved' }

  const anonymous = await report(api, downgrade, { authorization: undefined, 'ce-tenant': 'other' })
  t.equal(anonymous.statusCode, 401, 'no token: 401')
  t.match(anonymous.headers['www-authenticate'], /^Bearer .*error="invalid_token"/)
  t.match(anonymous.headers['content-type'], /application\/problem\+json/)

  const forged = await report(api, downgrade, { 'ce-tenant': 'other' }, { tenant: 'acme' })
  t.equal(forged.statusCode, 403, 'a token of acme with ce-tenant: other is refused')
  t.match(forged.json(), { type: /tenant-mismatch$/, status: 403 })

  const reader = await report(api, downgrade, {}, { tenant: 'other', scope: 'records:read' })
  t.equal(reader.statusCode, 403, 'records:read is not enough')
  t.match(reader.headers['www-authenticate'], /insufficient_scope/)

  t.match(await read(api, victim.id, 'other'), { severity: 'critical', status: 'open', version: 1 }, 'the other tenant\'s record is untouched')
  t.same(await allRecords(api, 'acme'), [], 'and nothing was written to acme either')

  const own = await report(api, downgrade, { 'ce-tenant': 'other' }, { tenant: 'other' })
  t.equal(own.statusCode, 200, 'a tenant extension equal to the token\'s tenant is fine')
})

t.test('ingest is rate limited per client like every authenticated route (429 + Retry-After)', async (t) => {
  const api = await buildRecordsApi(t, { routes, config: { RATE_LIMIT: 'on', RATE_LIMIT_MAX: 3 } })
  const statuses = []
  for (let index = 0; index < 5; index++) statuses.push((await report(api, { ...finding, fingerprint: `fp-${index}` }, {}, { client_id: 'flooding-scanner' })).statusCode)
  t.same(statuses, [200, 200, 200, 429, 429])
  const limited = await report(api, { ...finding, fingerprint: 'fp-late' }, {}, { client_id: 'flooding-scanner' })
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After')
  t.equal((await report(api, { ...finding, fingerprint: 'fp-calm' }, {}, { client_id: 'calm-scanner' })).statusCode, 200, 'another client is not slowed')
  t.equal((await allRecords(api, 'acme')).length, 4, 'the limited reports wrote nothing')
})

t.test('POST /v1/findings: the producer path applies a finding for the token\'s tenant and identity (no broker)', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  t.equal((await api.app.inject({ method: 'POST', url: '/v1/findings', payload: finding })).statusCode, 401, 'no token: 401')
  const applied = await api.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await api.bearer({ tenant: 'globex', sub: 'client:zap', client_id: 'zap' }) }, payload: finding })
  t.equal(applied.statusCode, 200)
  t.match(applied.json(), { outcome: 'created', version: 1 })
  t.match(await read(api, applied.json().id, 'globex'), { fingerprint: finding.fingerprint, createdBy: 'client:zap' })
  const withTenant = await api.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await api.bearer() }, payload: { ...finding, tenant: 'globex' } })
  t.equal(withTenant.statusCode, 400, 'a tenant in the body is an unknown field')
})

t.test('cluster: /v1/findings publishes the finding stamped with the token\'s identity; the broker\'s delivery of it is applied', async (t) => {
  const sink = await startEventSink(t)
  // The broker's own sender check (authentication-oidc): a projected token for its audience, rotated on disk.
  const tokenFile = join(t.testdir(), 'broker-token')
  writeFileSync(tokenFile, 'projected-token-1\n')
  const api = await buildRecordsApi(t, { routes: routesWith(sink.url, tokenFile) })
  const published = await api.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await api.bearer({ tenant: 'globex', sub: 'client:zap', client_id: 'zap' }), 'ce-tenant': 'acme' }, payload: finding })
  t.equal(published.statusCode, 202)
  t.equal(sink.received.length, 1, 'one event to the broker')
  const delivered = sink.received[0]!
  t.match(delivered.headers, { 'ce-type': 'com.mediamarktsaturn.security.finding.reported', 'ce-tenant': 'globex', 'ce-producer': 'client:zap', 'ce-producerclient': 'zap', 'ce-id': published.json().eventId })
  t.equal(delivered.headers.authorization, 'Bearer projected-token-1', 'the publisher proves itself to the broker')
  writeFileSync(tokenFile, 'projected-token-2\n')
  await api.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await api.bearer() }, payload: { ...finding, fingerprint: 'second' } })
  t.equal(sink.received[1]?.headers.authorization, 'Bearer projected-token-2', 'a rotated token is read again')
  t.same(await allRecords(api, 'globex'), [], 'nothing is written before the broker delivers')

  // The broker delivers the event as it got it, with the Trigger's OIDC token.
  const headers = { ...Object.fromEntries(Object.entries(delivered.headers).filter(([name]) => name.startsWith('ce-') || name === 'content-type')), authorization: `Bearer ${await deliveryToken()}` } as Record<string, string>
  const applied = await api.app.inject({ method: 'POST', url: '/', headers, payload: delivered.body })
  t.equal(applied.statusCode, 200)
  t.match(await read(api, applied.json().id, 'globex'), { fingerprint: finding.fingerprint, createdBy: 'client:zap' })
})

t.test('cluster: a broker that refuses the finding, or is not there, is a 503 retry later, never a 500 (found on the real cluster: a slow broker made the producer path answer 500)', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { routes: routesWith(sink.url) })
  sink.respondWith(500)
  const refused = await api.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await api.bearer() }, payload: finding })
  t.equal(refused.statusCode, 503)
  t.match(refused.json(), { type: /broker-unavailable$/, status: 503 })
  t.ok(refused.headers['retry-after'], 'with Retry-After')
  const gone = await buildRecordsApi(t, { routes: routesWith('http://127.0.0.1:1/') })
  const unreachable = await gone.app.inject({ method: 'POST', url: '/v1/findings', headers: { authorization: await gone.bearer() }, payload: finding })
  t.equal(unreachable.statusCode, 503, 'an unreachable broker too')
  t.same(await allRecords(api, 'acme'), [], 'and nothing was written')
})

t.test('cluster: only the findings Trigger may deliver to / (Knative OIDC sender identity), and only stamped events are accepted', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const stamped = { 'ce-tenant': 'acme', 'ce-producer': 'client:trivy', 'ce-producerclient': 'trivy' }
  const deliver = (authorization: string | undefined, overrides: Record<string, string | undefined> = stamped) => {
    const event = binaryEvent(finding, overrides)
    return api.app.inject({ method: 'POST', url: '/', headers: { ...event.headers, ...(authorization ? { authorization } : {}) }, payload: event.payload })
  }
  const refused: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['an API access token', await api.bearer()],
    ['another audience', `Bearer ${await deliveryToken({ aud: 'create-record' })}`],
    ['another service account', `Bearer ${await deliveryToken({ sub: 'system:serviceaccount:security-records:scanner' })}`],
    ['another issuer', `Bearer ${await deliveryToken({ iss: 'https://attacker.example' })}`],
    ['expired', `Bearer ${await deliveryToken({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })}`]
  ]
  for (const [name, authorization] of refused) {
    const response = await deliver(authorization)
    t.equal(response.statusCode, 401, name)
    t.match(response.headers['content-type'], /application\/problem\+json/, name)
  }
  t.same(await allRecords(api, 'acme'), [], 'nothing was written')

  const unstamped = await deliver(`Bearer ${await deliveryToken()}`, { 'ce-tenant': 'acme' })
  t.equal(unstamped.statusCode, 400, 'an event the producer path did not stamp is refused (and dead-lettered)')
  t.match(unstamped.json().errors, [{ path: '/producer' }, { path: '/producerclient' }])

  const accepted = await deliver(`Bearer ${await deliveryToken()}`)
  t.equal(accepted.statusCode, 200)
  t.match(await read(api, accepted.json().id), { createdBy: 'client:trivy' })
})

t.test('without sender identity configured, every broker delivery is refused', async (t) => {
  const open: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
    await app.register(allRecordRoutes, deps)
    await app.register(ingestFindingRoute, deps)
  }
  const api = await buildRecordsApi(t, { routes: open })
  const { headers, body } = HTTP.binary(new (await import('cloudevents')).CloudEvent({ type: 'com.mediamarktsaturn.security.finding.reported', source: '/x', tenant: 'acme', producer: 'p', producerclient: 'c', data: finding }))
  const response = await api.app.inject({ method: 'POST', url: '/', headers: headers as Record<string, string>, payload: body as string })
  t.equal(response.statusCode, 401)
  t.match(response.json().detail, /DELIVERY_OIDC_ISSUER/)
})

t.test('CloudEvent bodies are strict JSON too: duplicate names, NUL and lone surrogates are 400, charset=latin1 is 415', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const authorization = await api.bearer()
  const structured = JSON.stringify({ specversion: '1.0', id: 'strict-1', source: '/scanners/zap', type: 'com.mediamarktsaturn.security.finding.reported', datacontenttype: 'application/json', data: finding })
  const cases: Array<[string, string, string, number]> = [
    ['binary, duplicate name', 'application/json', JSON.stringify(finding).replace('"severity":"critical"', '"severity":"critical","severity":"info"'), 400],
    ['binary, NUL', 'application/json', JSON.stringify(finding).replace('xz backdoor', 'xz\\u0000'), 400],
    ['structured, duplicate name', 'application/cloudevents+json', structured.replace('"id":"strict-1"', '"id":"strict-1","id":"strict-2"'), 400],
    ['structured, lone surrogate', 'application/cloudevents+json', structured.replace('xz backdoor', '\\ud800'), 400],
    ['structured, charset=latin1', 'application/cloudevents+json; charset=latin1', structured, 415]
  ]
  for (const [name, contentType, payload, status] of cases) {
    const event = binaryEvent(finding, { 'content-type': contentType })
    const headers = contentType.startsWith('application/cloudevents') ? { authorization, 'content-type': contentType } : { ...event.headers, authorization }
    const response = await api.app.inject({ method: 'POST', url: '/events/findings', headers, payload })
    t.equal(response.statusCode, status, name)
    t.match(response.headers['content-type'], /application\/problem\+json/, name)
  }
  t.same(await allRecords(api, 'acme'), [], 'nothing was stored')
})
