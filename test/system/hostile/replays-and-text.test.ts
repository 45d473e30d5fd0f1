import t from 'tap'
import { aRecord, buildRecordsApi } from '../../support/records-api.ts'

/**
 * Before, an Idempotency-Key retry after the record it created was deleted answered 201 with
 * the id of a record that was gone (a 404). Titles keep bidirectional and zero-width characters
 * verbatim, as documented: consumers neutralise them when displaying.
 */

t.test('an Idempotency-Key retry after its record was deleted is a 409 naming the record, and creates nothing', async (t) => {
  const api = await buildRecordsApi(t)
  const authorization = await api.bearer({ scope: 'records:read records:write records:delete' })
  const send = () => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'idempotency-key': 'ci-run-7' }, payload: aRecord() })
  const first = await send()
  t.equal(first.statusCode, 201)
  const id = first.json().id as string
  t.equal((await api.app.inject({ method: 'DELETE', url: `/v1/records/${id}`, headers: { authorization } })).statusCode, 204)

  const retry = await send()
  t.equal(retry.statusCode, 409)
  t.match(retry.headers['content-type'], /^application\/problem\+json/)
  t.match(retry.json(), { status: 409, type: /idempotent-record-deleted$/, detail: new RegExp(id) })
  t.notOk(retry.headers.location, 'no Location of a record that is gone')
  const listed = await api.app.inject({ url: '/v1/records', headers: { authorization } })
  t.same(listed.json().items, [], 'nothing created again')
})

t.test('titles keep bidirectional and zero-width characters verbatim (documented; the console neutralises them)', async (t) => {
  const api = await buildRecordsApi(t)
  const title = 'Exposed \u202Egnp.exe\u202C admin\u200B port \u2066x\u2069'
  const created = await api.create(aRecord({ title }))
  const read = await api.app.inject({ url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer() } })
  t.equal(read.json().title, title, 'stored and returned as sent')
  t.match(read.headers['content-type'], /^application\/json/, 'as JSON, never as markup')
})
