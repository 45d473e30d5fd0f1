import t from 'tap'
import { buildRecordsApi } from '../support/records-api.ts'

t.test('GET /v1/records/{id} returns the record with its ETag', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const response = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer({ scope: 'records:read' }) } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers.etag, '"1"')
  t.equal(response.headers['cache-control'], 'no-store')
  const { etag: _etag, ...expected } = created
  t.same(response.json(), expected)
})

t.test('If-None-Match with the current ETag is a 304 without a body; a stale one gets the record', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const authorization = await api.bearer()
  const notModified = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization, 'if-none-match': '"1"' } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  t.equal(notModified.headers.etag, '"1"')
  const weak = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization, 'if-none-match': 'W/"1"' } })
  t.equal(weak.statusCode, 304, 'If-None-Match compares weakly')
  const stale = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization, 'if-none-match': '"0", "7"' } })
  t.equal(stale.statusCode, 200)
})

t.test('an unknown id and another tenant\'s record are the same 404', async (t) => {
  const api = await buildRecordsApi(t)
  const foreign = await api.create(undefined, { tenant: 'globex' })
  const authorization = await api.bearer({ tenant: 'acme' })
  const missing = await api.app.inject({ method: 'GET', url: '/v1/records/01938f2e-8b7a-7c3d-9e4f-0a1b2c3d4e5f', headers: { authorization } })
  const crossTenant = await api.app.inject({ method: 'GET', url: `/v1/records/${foreign.id}`, headers: { authorization } })
  t.equal(missing.statusCode, 404)
  t.equal(crossTenant.statusCode, 404)
  t.match(crossTenant.json(), { status: 404, title: 'Not found', detail: `No record with id ${foreign.id}` })
  t.same(Object.keys(crossTenant.json()).sort(), Object.keys(missing.json()).sort(), 'nothing tells the two apart')
})

t.test('a malformed id is a 400 problem', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'GET', url: '/v1/records/not-a-uuid', headers: { authorization: await api.bearer() } })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { errors: [{ path: '/id', in: 'params' }] })
})

t.test('read scope is required', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  const response = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer({ scope: 'records:write' }) } })
  t.equal(response.statusCode, 403)
  t.match(response.headers['www-authenticate'], /error="insufficient_scope"/)
})

t.test('unknown routes are problem+json 404s', async (t) => {
  const api = await buildRecordsApi(t)
  const response = await api.app.inject({ method: 'GET', url: '/v2/whatever' })
  t.equal(response.statusCode, 404)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
})
