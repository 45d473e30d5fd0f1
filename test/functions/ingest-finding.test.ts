import t from 'tap'
import type { FastifyPluginAsync } from 'fastify'
import type { RouteDeps } from '../../shared/app.ts'
import ingestFindingRoute from '../../functions/ingest-finding/route.ts'
import { aRecord, allRecordRoutes, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'

const routes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  await app.register(allRecordRoutes, deps)
  await app.register(ingestFindingRoute, deps)
}

let eventCounter = 0
function binaryEvent (data: unknown, overrides: Record<string, string | undefined> = {}) {
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': `scan-${++eventCounter}`,
    'ce-source': '/scanners/trivy',
    'ce-type': 'com.mediamarktsaturn.security.finding.reported',
    'ce-tenant': 'acme',
    'content-type': 'application/json'
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete headers[key]
    else headers[key] = value
  }
  return { headers, payload: JSON.stringify(data) }
}

async function report (api: RecordsApiHarness, data: unknown, overrides: Record<string, string | undefined> = {}) {
  return api.app.inject({ method: 'POST', url: '/events/findings', ...binaryEvent(data, overrides) })
}

async function read (api: RecordsApiHarness, id: string, tenant = 'acme') {
  return (await api.app.inject({ method: 'GET', url: `/v1/records/${id}`, headers: { authorization: await api.bearer({ tenant }) } })).json()
}

async function setStatus (api: RecordsApiHarness, id: string, body: Record<string, unknown>) {
  const current = await read(api, id)
  const response = await api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization: await api.bearer(), 'if-match': `"${current.version}"`, 'content-type': 'application/json' }, payload: body })
  if (response.statusCode !== 200) throw new Error(response.body)
}

const finding = aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094', source: { tool: 'trivy', scanId: 'scan-1' } })

t.test('a new finding creates a record, attributed to the event source', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const response = await report(api, finding)
  t.equal(response.statusCode, 200)
  t.match(response.json(), { outcome: 'created', version: 1 })
  const record = await read(api, response.json().id)
  t.match(record, { title: finding.title, fingerprint: finding.fingerprint, status: 'open', createdBy: 'event-source:/scanners/trivy' })
  const history = (await api.app.inject({ method: 'GET', url: `/v1/records/${record.id}/history`, headers: { authorization: await api.bearer() } })).json()
  t.match(history.items[0], { action: 'created', actor: { clientId: 'ingest-finding' }, requestId: /^scan-/ })
})

t.test('structured mode works too', async (t) => {
  const api = await buildRecordsApi(t, { routes })
  const response = await api.app.inject({
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/cloudevents+json' },
    payload: JSON.stringify({ specversion: '1.0', id: 'structured-1', source: '/scanners/zap', type: 'com.mediamarktsaturn.security.finding.reported', tenant: 'acme', datacontenttype: 'application/json', data: finding })
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
  const globex = (await report(api, finding, { 'ce-tenant': 'globex' })).json()
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
    ['no tenant', finding, { 'ce-tenant': undefined }],
    ['bad tenant', finding, { 'ce-tenant': '../etc' }],
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
