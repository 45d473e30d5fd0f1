import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { recordKey } from '../../shared/store/keys.ts'
import { aRecord, buildRecordsApi } from '../support/records-api.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('POST /v1/records creates a record: 201, Location, ETag, server fields, stored under the tenant', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer({ sub: 'scanner-1' }) }, payload: aRecord() })

  t.equal(response.statusCode, 201)
  const record = response.json()
  t.match(record.id, UUID_V7)
  t.equal(response.headers.location, `/v1/records/${record.id}`)
  t.equal(response.headers.etag, '"1"')
  t.equal(response.headers['cache-control'], 'no-store')
  t.ok(response.headers['x-request-id'])
  t.match(record, { version: 1, status: 'open', severity: 'critical', createdBy: 'scanner-1', updatedBy: 'scanner-1', title: 'xz backdoor in liblzma' })
  t.equal(record.createdAt, record.updatedAt)
  t.equal(record.dueAt, new Date(Date.parse(record.createdAt) + 7 * 86_400_000).toISOString())
  t.notOk('tenant' in record, 'the tenant never leaks')
  t.notOk('pk' in record, 'store keys never leak')

  const { Item } = await api.store.documents.send(new GetCommand({ TableName: api.store.tableName, Key: recordKey('acme', record.id) }))
  t.match(Item, { id: record.id, tenant: 'acme', title: record.title, version: 1 })
})

t.test('the tenant comes from the token, never from the body', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer() }, payload: aRecord({ tenant: 'other' }) })
  t.equal(response.statusCode, 400)
  t.same(response.json().errors, [{ path: '/tenant', message: 'is set by the server and cannot be written', in: 'body' }])
})

t.test('a CVSS vector is scored and sets the severity', async (t) => {
  const api = await buildRecordsApi(t)
  const { severity: _drop, ...body } = aRecord()
  const record = await api.create({ ...body, cvss: { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' } })
  t.same(record.cvss, { vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', version: '3.1', baseScore: 9.8, severity: 'critical' })
  t.equal(record.severity, 'critical')
})

t.test('invalid bodies are 400 problem+json naming every field', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const cases: Array<[string, unknown, Array<{ path: string }>]> = [
    ['unknown field', aRecord({ colour: 'red' }), [{ path: '/colour' }]],
    ['server fields', aRecord({ id: 'x', version: 3, createdAt: 'now', dueAt: 'x' }), [{ path: '/id' }, { path: '/version' }, { path: '/createdAt' }, { path: '/dueAt' }]],
    ['missing title and asset', { category: 'malware', severity: 'low' }, [{ path: '/title' }, { path: '/asset' }]],
    ['empty title', aRecord({ title: '' }), [{ path: '/title' }]],
    ['blank title', aRecord({ title: '   ' }), [{ path: '/title' }]],
    ['title too long', aRecord({ title: 'x'.repeat(301) }), [{ path: '/title' }]],
    ['description too long', aRecord({ description: 'x'.repeat(20_001) }), [{ path: '/description' }]],
    ['unknown category', aRecord({ category: 'rumour' }), [{ path: '/category' }]],
    ['unknown severity', aRecord({ severity: 'urgent' }), [{ path: '/severity' }]],
    ['unknown status', aRecord({ status: 'closed' }), [{ path: '/status' }]],
    ['bad asset type', aRecord({ asset: { name: 'x', type: 'toaster' } }), [{ path: '/asset/type' }]],
    ['bad environment', aRecord({ asset: { name: 'x', type: 'host', environment: 'prod' } }), [{ path: '/asset/environment' }]],
    ['asset name too long', aRecord({ asset: { name: 'x'.repeat(201), type: 'host' } }), [{ path: '/asset/name' }]],
    ['bad purl', aRecord({ asset: { name: 'x', type: 'package', purl: 'lodash' } }), [{ path: '/asset/purl' }]],
    ['bad CVE id', aRecord({ vulnerabilityIds: ['CVE-24-1'] }), [{ path: '/vulnerabilityIds/0' }]],
    ['duplicate ids', aRecord({ vulnerabilityIds: ['CVE-2024-3094', 'CVE-2024-3094'] }), [{ path: '/vulnerabilityIds' }]],
    ['too many ids', aRecord({ vulnerabilityIds: Array.from({ length: 51 }, (_, i) => `CVE-2024-${10000 + i}`) }), [{ path: '/vulnerabilityIds' }]],
    ['bad CWE', aRecord({ cweIds: ['CWE-abc'] }), [{ path: '/cweIds/0' }]],
    ['non-http reference', aRecord({ references: ['javascript:alert(1)'] }), [{ path: '/references/0' }]],
    ['bad tag', aRecord({ tags: ['Has Space'] }), [{ path: '/tags/0' }]],
    ['too many tags', aRecord({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), [{ path: '/tags' }]],
    ['fingerprint too long', aRecord({ fingerprint: 'f'.repeat(257) }), [{ path: '/fingerprint' }]],
    ['source without tool', aRecord({ source: { ruleId: 'x' } }), [{ path: '/source/tool' }]],
    ['wrong types', aRecord({ title: 5, tags: 'a' }), [{ path: '/title' }, { path: '/tags' }]],
    ['invalid vector', aRecord({ cvss: { vector: 'CVSS:3.1/AV:N' } }), [{ path: '/cvss/vector' }]],
    ['reason missing', aRecord({ status: 'false_positive' }), [{ path: '/statusReason' }]]
  ]
  for (const [name, payload, errors] of cases) {
    const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: payload as object })
    t.equal(response.statusCode, 400, name)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', name)
    const problem = response.json()
    t.match(problem, { type: /invalid-request$/, title: 'Invalid request', status: 400, instance: '/v1/records', detail: String }, name)
    t.match(problem.errors, errors, name)
  }
  const stored = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  t.same(stored.json().items, [], 'nothing was stored')
})

t.test('bad JSON, wrong content type and oversized bodies are 4xx problems', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const post = (payload: string, contentType: string) => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'content-type': contentType }, payload })
  const badJson = await post('{"title": ', 'application/json')
  t.equal(badJson.statusCode, 400)
  t.match(badJson.json(), { status: 400, detail: String })
  const proto = await post('{"__proto__": {"admin": true}, "title": "x"}', 'application/json')
  t.equal(proto.statusCode, 400)
  const text = await post('title=x', 'text/plain')
  t.equal(text.statusCode, 415)
  t.equal(text.headers['content-type'], 'application/problem+json; charset=utf-8')
  const mergePatch = await post(JSON.stringify(aRecord()), 'application/merge-patch+json')
  t.equal(mergePatch.statusCode, 415, 'create takes plain JSON only')
  const huge = await post(JSON.stringify(aRecord({ description: 'x'.repeat(300 * 1024) })), 'application/json')
  t.equal(huge.statusCode, 413)
  t.match(huge.json(), { status: 413, title: 'Request body too large' })
  const array = await post('[]', 'application/json')
  t.equal(array.statusCode, 400)
})

t.test('a fingerprint is unique per tenant: the second create is a 409 naming the first record', async (t) => {
  const api = await buildRecordsApi(t)
  const first = await api.create(aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094' }))
  const second = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer() }, payload: aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094' }) })
  t.equal(second.statusCode, 409)
  t.match(second.json(), { status: 409, title: 'Duplicate fingerprint', existingRecordId: first.id, detail: new RegExp(first.id) })
  const otherTenant = await api.create(aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094' }), { tenant: 'globex' })
  t.not(otherTenant.id, first.id, 'another tenant may use the same fingerprint')
})

t.test('concurrent creates with one fingerprint: exactly one 201, the others 409 naming it', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const responses = await Promise.all(Array.from({ length: 10 }, () =>
    api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: aRecord({ fingerprint: 'race' }) })))
  const created = responses.filter((r) => r.statusCode === 201)
  const conflicts = responses.filter((r) => r.statusCode === 409)
  t.equal(created.length, 1)
  t.equal(conflicts.length, 9)
  const winner = created[0]!.json().id
  for (const conflict of conflicts) t.equal(conflict.json().existingRecordId, winner)
  const list = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  t.equal(list.json().items.length, 1, 'one record stored')
})

t.test('a deleted record frees its fingerprint', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const first = await api.create(aRecord({ fingerprint: 'reused' }))
  t.equal((await api.app.inject({ method: 'DELETE', url: `/v1/records/${first.id}`, headers: { authorization } })).statusCode, 204)
  const again = await api.create(aRecord({ fingerprint: 'reused' }))
  t.not(again.id, first.id)
})

t.test('Idempotency-Key: same key and body replays the original response, no second record', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const send = (body: object) => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'idempotency-key': 'run-42' }, payload: body })
  const first = await send(aRecord())
  const replay = await send({ ...aRecord() })
  t.equal(first.statusCode, 201)
  t.equal(replay.statusCode, 201)
  t.same(replay.json(), first.json())
  t.equal(replay.headers.location, first.headers.location)
  t.equal(replay.headers.etag, first.headers.etag)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  const list = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  t.equal(list.json().items.length, 1)

  const changed = await send(aRecord({ title: 'something else' }))
  t.equal(changed.statusCode, 422)
  t.match(changed.json(), { status: 422, title: 'Idempotency-Key reused with a different request' })
})

t.test('Idempotency-Keys are scoped per client', async (t) => {
  const api = await buildRecordsApi(t)
  const send = async (clientId: string) => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer({ client_id: clientId }), 'idempotency-key': 'k1' }, payload: aRecord() })
  const a = await send('scanner-a')
  const b = await send('scanner-b')
  t.not(a.json().id, b.json().id)
})

t.test('concurrent creates with one Idempotency-Key make exactly one record', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  const responses = await Promise.all(Array.from({ length: 10 }, () =>
    api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'idempotency-key': 'burst' }, payload: aRecord() })))
  const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json().id))
  t.equal(ids.size, 1, 'every 201 names the same record')
  t.ok(responses.every((r) => r.statusCode === 201 || r.statusCode === 409), 'the rest are told to retry')
  const list = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization } })
  t.equal(list.json().items.length, 1)
})

t.test('a failed create frees its Idempotency-Key for a corrected retry', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer()
  await api.create(aRecord({ fingerprint: 'taken' }))
  const send = (body: object) => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'idempotency-key': 'retry-me' }, payload: body })
  t.equal((await send(aRecord({ fingerprint: 'taken' }))).statusCode, 409)
  t.equal((await send(aRecord({ fingerprint: 'fresh' }))).statusCode, 201)
})

t.test('duplicateOf must name a record of the same tenant', async (t) => {
  const api = await buildRecordsApi(t)
  const original = await api.create()
  const foreign = await api.create(aRecord(), { tenant: 'globex' })
  const authorization = await api.bearer()
  const body = (duplicateOf: string) => aRecord({ status: 'duplicate', statusReason: 'same finding', duplicateOf })
  const ok = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: body(original.id) })
  t.equal(ok.statusCode, 201)
  const cross = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: body(foreign.id) })
  t.equal(cross.statusCode, 400)
  t.match(cross.json().errors, [{ path: '/duplicateOf' }])
})

t.test('write scope is required: a read-only token gets 403 with a Bearer challenge', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer({ scope: 'records:read' }) }, payload: aRecord() })
  t.equal(response.statusCode, 403)
  t.match(response.headers['www-authenticate'], /^Bearer .*error="insufficient_scope".*scope="records:write"/)
  t.match(response.json(), { status: 403, title: 'Insufficient scope' })
})

t.test('no token is a 401 with a Bearer challenge, before the body is even read', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', payload: aRecord() })
  t.equal(response.statusCode, 401)
  t.match(response.headers['www-authenticate'], /^Bearer realm="security-records", error="invalid_token"/)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
})
