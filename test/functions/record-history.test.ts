import t from 'tap'
import type { RecordChange } from '../../shared/records/change.ts'
import { aRecord, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'

async function historyOf (api: RecordsApiHarness, id: string, query = '', claims = {}) {
  return api.app.inject({ method: 'GET', url: `/v1/records/${id}/history${query}`, headers: { authorization: await api.bearer({ scope: 'records:read', ...claims }) } })
}

async function patch (api: RecordsApiHarness, id: string, etag: string, body: unknown, claims = {}) {
  const response = await api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization: await api.bearer(claims), 'if-match': etag, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body) })
  if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`)
  return { ...response.json(), etag: String(response.headers.etag) }
}

t.test('create, a multi-field patch and delete each leave exactly one entry, newest first', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(aRecord({ assignee: 'carol' }), { sub: 'scanner', client_id: 'trivy' })
  await patch(api, created.id, created.etag, { status: 'triaged', severity: 'high', assignee: null, asset: { environment: 'staging' } }, { sub: 'alice', client_id: 'console' })
  const createResponse = await historyOf(api, created.id)
  t.equal(createResponse.statusCode, 200)
  const { items, nextCursor } = createResponse.json()
  t.equal(nextCursor, null)
  t.same(items.map((entry: { version: number }) => entry.version), [2, 1])
  const [update, creation] = items
  t.match(creation, { recordId: created.id, version: 1, action: 'created', actor: { type: 'user', id: 'scanner', clientId: 'trivy' }, at: created.createdAt, requestId: String })
  t.ok(creation.changes.some((change: { path: string, to: unknown }) => change.path === '/title' && change.to === created.title))
  t.match(update, { version: 2, action: 'updated', actor: { type: 'user', id: 'alice', clientId: 'console' } })
  t.same(update.changes, [
    { path: '/asset/environment', from: 'production', to: 'staging' },
    { path: '/assignee', from: 'carol', to: null },
    { path: '/dueAt', from: created.dueAt, to: new Date(Date.parse(created.createdAt) + 30 * 86_400_000).toISOString() },
    { path: '/severity', from: 'critical', to: 'high' },
    { path: '/status', from: 'open', to: 'triaged' }
  ], 'one change per field, bookkeeping fields left out')

  const deletion = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer({ sub: 'bob' }) } })
  t.equal(deletion.statusCode, 204)
  const afterDelete = (await historyOf(api, created.id)).json().items
  t.same(afterDelete.map((entry: { action: string }) => entry.action), ['deleted', 'updated', 'created'], 'history outlives the record')
  t.match(afterDelete[0], { version: 3, actor: { id: 'bob' } })
})

t.test('the change records the server\'s request id, and the caller\'s X-Request-Id beside it', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization: await api.bearer(), 'x-request-id': 'req-abc-12345' }, payload: aRecord() })
  const entry = (await historyOf(api, response.json().id)).json().items[0]
  t.equal(entry.requestId, response.headers['x-request-id'], 'the id the answer named')
  t.equal(entry.clientRequestId, 'req-abc-12345')
})

t.test('a patch that changes nothing adds no entry', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  await patch(api, created.id, created.etag, { title: created.title })
  t.equal((await historyOf(api, created.id)).json().items.length, 1)
})

t.test('history pages newest first with a cursor, without repeats or gaps', async (t) => {
  const api = await buildRecordsApi(t)
  let record = await api.create()
  for (let i = 0; i < 6; i++) record = await patch(api, record.id, record.etag, { title: `title ${i}` })
  const versions: number[] = []
  let query = '?limit=3'
  for (let pages = 0; pages < 10; pages++) {
    const { items, nextCursor } = (await historyOf(api, record.id, query)).json()
    versions.push(...items.map((entry: { version: number }) => entry.version))
    if (!nextCursor) break
    query = `?limit=3&cursor=${encodeURIComponent(nextCursor)}`
  }
  t.same(versions, [7, 6, 5, 4, 3, 2, 1])
  const first = (await historyOf(api, record.id, '?limit=3')).json()
  const other = await api.create()
  const crossed = await historyOf(api, other.id, `?limit=3&cursor=${encodeURIComponent(first.nextCursor)}`)
  t.equal(crossed.statusCode, 400, 'a cursor is bound to its record')
})

t.test('another tenant\'s history is a 404, like an unknown record', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(undefined, { tenant: 'globex' })
  t.equal((await historyOf(api, created.id, '', { tenant: 'acme' })).statusCode, 404)
  t.equal((await historyOf(api, '01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f')).statusCode, 404)
  t.equal((await historyOf(api, created.id, '', { tenant: 'globex' })).statusCode, 200)
})

t.test('the actor says who and through what: a person by name through the console, a client acting for itself', async (t) => {
  const api = await buildRecordsApi(t)
  const byClient = await api.create(aRecord(), { sub: 'trivy-ci', client_id: 'trivy-ci' })
  await patch(api, byClient.id, byClient.etag, { status: 'triaged' }, { sub: 'local-triager', name: 'Tess Triager', client_id: 'local-console' })
  const [update, creation] = (await historyOf(api, byClient.id)).json().items
  t.same(creation.actor, { type: 'client', id: 'trivy-ci', clientId: 'trivy-ci' })
  t.same(update.actor, { type: 'user', id: 'local-triager', name: 'Tess Triager', clientId: 'local-console' })
  const record = (await api.app.inject({ url: `/v1/records/${byClient.id}`, headers: { authorization: await api.bearer() } })).json()
  t.match(record, { createdBy: 'trivy-ci', updatedBy: 'local-triager' }, 'createdBy and updatedBy keep their string form')
})

t.test('entries written before actors had a type (`{ sub, clientId }`) read as the new shape', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(aRecord(), { sub: 'local-admin', client_id: 'local-admin', tenant: 'local' })
  await api.settled()
  const { tenant } = { tenant: 'local' }
  // What the code before typed actors wrote: the entry of version 2 as it stored it, and a record with that change still pending.
  const oldChange = { version: 2, action: 'updated', at: new Date().toISOString(), actor: { sub: 'alice', clientId: 'console' }, requestId: 'old-request', changes: [{ path: '/assignee', from: null, to: 'alice' }] }
  await api.data.history.write(tenant, created.id, oldChange as unknown as RecordChange, undefined)
  const oldClient = { ...oldChange, version: 3, actor: { sub: 'trivy-ci', clientId: 'trivy-ci' }, requestId: 'old-request-2' }
  await api.data.history.write(tenant, created.id, oldClient as unknown as RecordChange, undefined)

  const response = await historyOf(api, created.id, '', { tenant })
  t.equal(response.statusCode, 200)
  const [third, second, first] = response.json().items
  t.same(third.actor, { type: 'client', id: 'trivy-ci', clientId: 'trivy-ci' })
  t.same(second.actor, { type: 'user', id: 'alice', clientId: 'console' })
  t.same(first.actor, { type: 'client', id: 'local-admin', clientId: 'local-admin' })
})
