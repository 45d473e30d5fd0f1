import t from 'tap'
import { buildRecordsApi, type RecordsApiHarness } from '../../support/records-api.ts'

/**
 * If-Match is how a writer proves it saw the version it changes. Before, a list of 150 versions
 * acted like `*` (any of them matched), and a 412 did not say which version was current.
 */

const versions = (count: number) => Array.from({ length: count }, (_, index) => `"${index + 1}"`).join(', ')

async function send (api: RecordsApiHarness, method: 'PATCH' | 'DELETE', id: string, ifMatch: string) {
  return api.app.inject({
    method,
    url: `/v1/records/${id}`,
    headers: { authorization: await api.bearer({ scope: 'records:read records:write records:delete' }), 'if-match': ifMatch, ...(method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {}) },
    ...(method === 'PATCH' ? { payload: JSON.stringify({ title: 'overwritten' }) } : {})
  })
}

async function stored (api: RecordsApiHarness, id: string) {
  return (await api.app.inject({ url: `/v1/records/${id}`, headers: { authorization: await api.bearer() } })).json()
}

t.test('If-Match with a list of ETags never matches: a 412 with the one current ETag, for PATCH and DELETE; the record is untouched', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  for (const method of ['PATCH', 'DELETE'] as const) {
    for (const list of [versions(150), '"1", "1"', `${created.etag}, "999"`]) {
      const response = await send(api, method, created.id, list)
      t.equal(response.statusCode, 412, `${method} with ${list.slice(0, 20)}…`)
      t.match(response.headers['content-type'], /^application\/problem\+json/)
      t.equal(response.headers.etag, '"1"', 'naming the tag that would match')
      t.match(response.json(), { status: 412, detail: /current ETag "1"/ })
    }
  }
  t.match(await stored(api, created.id), { version: 1, title: created.title }, 'neither changed nor deleted')
})

t.test('If-Match that is no entity tag, a weak or a foreign tag is a 412 like a stale one, with the current ETag', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  for (const nonMatching of ['1', 'W/1', '"1', 'etag', '0', 'W/"1"', '"abc"', '"01x"']) {
    const response = await send(api, 'PATCH', created.id, nonMatching)
    t.equal(response.statusCode, 412, `If-Match: ${nonMatching}`)
    t.equal(response.headers.etag, '"1"', 'with the current ETag')
  }
  t.equal((await send(api, 'PATCH', created.id, ` ${created.etag} `)).statusCode, 200, 'the one current ETag (surrounding spaces are not part of it)')
})

t.test('a 412 carries the current ETag as its ETag header, for PATCH and DELETE', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create()
  t.equal((await send(api, 'PATCH', created.id, '"1"')).statusCode, 200)
  for (const method of ['PATCH', 'DELETE'] as const) {
    const stale = await send(api, method, created.id, '"1"')
    t.equal(stale.statusCode, 412, method)
    t.equal(stale.headers.etag, '"2"', `${method}: the current ETag`)
    t.match(stale.json(), { status: 412, detail: /"2"/ })
  }
  t.match(await stored(api, created.id), { version: 2 }, 'nothing changed by the stale writes')
})
