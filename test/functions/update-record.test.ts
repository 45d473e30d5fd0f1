import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { DEFAULT_INDEX_SHARDS, fingerprintKey, indexes, partitions, recordKey, shardOf } from '../../shared/store/keys.ts'
import { aRecord, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'

async function patch (api: RecordsApiHarness, id: string, body: unknown, headers: Record<string, string> = {}, claims = {}) {
  return api.app.inject({
    method: 'PATCH',
    url: `/v1/records/${id}`,
    headers: { authorization: await api.bearer(claims), 'content-type': 'application/merge-patch+json', ...headers },
    payload: JSON.stringify(body)
  })
}

t.test('PATCH applies a merge patch with If-Match and returns the new version and ETag', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(aRecord({ assignee: 'carol' }))
  const response = await patch(api, created.id, { status: 'triaged', assignee: null, severity: 'high' }, { 'if-match': created.etag }, { sub: 'dave' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers.etag, '"2"')
  const record = response.json()
  t.match(record, { version: 2, status: 'triaged', severity: 'high', updatedBy: 'dave', createdBy: 'client:test-writer' })
  t.notOk('assignee' in record)
  t.not(record.statusChangedAt, created.statusChangedAt)
  t.equal(record.dueAt, new Date(Date.parse(created.createdAt) + 30 * 86_400_000).toISOString(), 'deadline follows the new severity')
  const { Item } = await api.store.documents.send(new GetCommand({ TableName: api.store.tableName, Key: recordKey('acme', created.id) }))
  t.match(Item, { version: 2, status: 'triaged', [indexes.byStatus.pk]: partitions.byStatus('acme', 'triaged', shardOf(created.id, DEFAULT_INDEX_SHARDS)) })
  t.notOk(Item && 'assignee' in Item)
})

t.test('application/json is accepted as a merge patch too', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const response = await patch(api, created.id, { title: 'renamed' }, { 'if-match': '"1"', 'content-type': 'application/json' })
  t.equal(response.statusCode, 200)
  t.equal(response.json().title, 'renamed')
})

t.test('If-Match is required (428), * is refused (428), and a stale one is 412 naming the current ETag', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const missing = await patch(api, created.id, { title: 'x' })
  t.equal(missing.statusCode, 428)
  t.match(missing.json(), { status: 428, title: 'Precondition required' })
  t.equal((await patch(api, created.id, { title: 'x' }, { 'if-match': '*' })).statusCode, 428)
  t.equal((await patch(api, created.id, { title: 'x' }, { 'if-match': '"1"' })).statusCode, 200)
  const stale = await patch(api, created.id, { title: 'y' }, { 'if-match': '"1"' })
  t.equal(stale.statusCode, 412)
  t.match(stale.json(), { status: 412, detail: /"2"/ })
  t.equal((await patch(api, created.id, { title: 'z' }, { 'if-match': 'W/"2"' })).statusCode, 412, 'weak tags never match If-Match')
})

t.test('two PATCHes with the same If-Match: exactly one 200 and one 412, nothing lost', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const responses = await Promise.all([
    patch(api, created.id, { title: 'first writer' }, { 'if-match': created.etag }),
    patch(api, created.id, { assignee: 'second writer' }, { 'if-match': created.etag })
  ])
  t.same(responses.map((r) => r.statusCode).sort(), [200, 412])
  const winner = responses.find((r) => r.statusCode === 200)!.json()
  const stored = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer() } })
  t.same(stored.json(), winner, 'the stored record is exactly the winner\'s')
  t.equal(stored.json().version, 2)
})

t.test('many concurrent writers with one ETag: exactly one wins', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => patch(api, created.id, { assignee: `writer-${i}` }, { 'if-match': created.etag })))
  t.equal(responses.filter((r) => r.statusCode === 200).length, 1)
  t.equal(responses.filter((r) => r.statusCode === 412).length, 19)
})

t.test('an illegal status transition is a 409 that lists the allowed ones', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(aRecord({ status: 'resolved' }))
  const response = await patch(api, created.id, { status: 'in_progress' }, { 'if-match': created.etag })
  t.equal(response.statusCode, 409)
  t.match(response.json(), { status: 409, title: 'Illegal status transition', detail: /resolved to in_progress; allowed: open/ })
})

t.test('closing as false positive needs a reason; with one it is accepted', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const noReason = await patch(api, created.id, { status: 'false_positive' }, { 'if-match': created.etag })
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json().errors, [{ path: '/statusReason' }])
  const ok = await patch(api, created.id, { status: 'false_positive', statusReason: 'test fixture' }, { 'if-match': created.etag })
  t.equal(ok.statusCode, 200)
})

t.test('invalid patches are 400s naming the field; the record is unchanged', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const cases: Array<[string, unknown, string]> = [
    ['read-only field', { version: 9 }, '/version'],
    ['unknown field', { colour: 'red' }, '/colour'],
    ['required field removed', { title: null }, '/title'],
    ['wrong type', { tags: 'a' }, '/tags'],
    ['empty patch', {}, ''],
    ['nested unknown', { asset: { colour: 'red' } }, '/asset/colour']
  ]
  for (const [name, body, path] of cases) {
    const response = await patch(api, created.id, body, { 'if-match': created.etag })
    t.equal(response.statusCode, 400, name)
    t.match(response.json().errors, [{ path }], name)
  }
  const notJson = await api.app.inject({ method: 'PATCH', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer(), 'if-match': '"1"', 'content-type': 'application/xml' }, payload: '<x/>' })
  t.equal(notJson.statusCode, 415)
  const stored = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer() } })
  t.equal(stored.json().version, 1)
})

t.test('a patch that changes nothing keeps the version', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const response = await patch(api, created.id, { title: created.title }, { 'if-match': created.etag })
  t.equal(response.statusCode, 200)
  t.equal(response.headers.etag, '"1"')
})

t.test('another tenant\'s record cannot be patched: 404', async (t) => {
  const api = await buildRecordsApi(t)
  const foreign = await api.create(undefined, { tenant: 'globex' })
  const response = await patch(api, foreign.id, { title: 'hijack' }, { 'if-match': '"1"' }, { tenant: 'acme' })
  t.equal(response.statusCode, 404)
  const stored = await api.app.inject({ method: 'GET', url: `/v1/records/${foreign.id}`, headers: { authorization: await api.bearer({ tenant: 'globex' }) } })
  t.equal(stored.json().title, foreign.title)
})

t.test('changing the fingerprint moves the guard; a taken fingerprint is a 409', async (t) => {
  const api = await buildRecordsApi(t)
  const a = await api.create(aRecord({ fingerprint: 'fp-a' }))
  const b = await api.create(aRecord({ fingerprint: 'fp-b' }))
  const taken = await patch(api, b.id, { fingerprint: 'fp-a' }, { 'if-match': b.etag })
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().existingRecordId, a.id)
  const moved = await patch(api, b.id, { fingerprint: 'fp-c' }, { 'if-match': b.etag })
  t.equal(moved.statusCode, 200)
  const oldGuard = await api.store.documents.send(new GetCommand({ TableName: api.store.tableName, Key: fingerprintKey('acme', 'fp-b') }))
  t.notOk(oldGuard.Item, 'the old fingerprint is free again')
  t.equal((await api.create(aRecord({ fingerprint: 'fp-b' }))).fingerprint, 'fp-b')
})

t.test('duplicate status needs an existing record of the tenant', async (t) => {
  const api = await buildRecordsApi(t)
  const original = await api.create()
  const copy = await api.create()
  const missing = await patch(api, copy.id, { status: 'duplicate', statusReason: 'dup', duplicateOf: '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f' }, { 'if-match': copy.etag })
  t.equal(missing.statusCode, 400)
  const ok = await patch(api, copy.id, { status: 'duplicate', statusReason: 'dup', duplicateOf: original.id }, { 'if-match': copy.etag })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().duplicateOf, original.id)
})
