import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { recordKey } from '../../shared/store/keys.ts'
import { buildRecordsApi } from '../support/records-api.ts'

t.test('DELETE removes the record: 204, then 404', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const authorization = await api.bearer()
  const response = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization } })
  t.equal(response.statusCode, 204)
  t.equal(response.body, '')
  // The answer leaves at the commit (the record becomes a tombstone); its follow-up removes the item.
  await api.settled()
  const { Item } = await api.store.documents.send(new GetCommand({ TableName: api.store.tableName, Key: recordKey('acme', created.id) }))
  t.notOk(Item)
  t.equal((await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization } })).statusCode, 404)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization } })).statusCode, 404)
})

t.test('DELETE with a stale If-Match is a 412 and keeps the record', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const authorization = await api.bearer()
  const stale = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization, 'if-match': '"7"' } })
  t.equal(stale.statusCode, 412)
  t.equal((await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization } })).statusCode, 200)
  const current = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization, 'if-match': '"1"' } })
  t.equal(current.statusCode, 204)
})

t.test('DELETE needs the delete scope', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const response = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer({ scope: 'records:read records:write' }) } })
  t.equal(response.statusCode, 403)
  t.match(response.headers['www-authenticate'], /scope="records:delete"/)
})

t.test('another tenant\'s record cannot be deleted: 404, still there', async (t) => {
  const api = await buildRecordsApi(t)
  const foreign = await api.create(undefined, { tenant: 'globex' })
  const response = await api.app.inject({ method: 'DELETE', url: `/v1/records/${foreign.id}`, headers: { authorization: await api.bearer({ tenant: 'acme' }) } })
  t.equal(response.statusCode, 404)
  const still = await api.app.inject({ method: 'GET', url: `/v1/records/${foreign.id}`, headers: { authorization: await api.bearer({ tenant: 'globex' }) } })
  t.equal(still.statusCode, 200)
})
