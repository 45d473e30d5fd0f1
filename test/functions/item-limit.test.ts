import t from 'tap'
import { MAX_ITEM_BYTES } from '../../shared/store/item-size.ts'
import { aRecord, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'

/**
 * Every write stays within the store's item limit (DynamoDB: 400 KB) or is refused with a clear
 * 413 naming it, never a 500 — with the largest input the API takes: 20 000-character
 * descriptions of 3-byte characters (60 KB) and 50 references of 1.9 KB. A change carries its
 * before and after, in the record item and in its history entry.
 */

/** 20 000 characters of 3 bytes each, the first telling descriptions apart. */
const wide = (tag: string) => tag + '€'.repeat(19_999)
const references = (tag: string) => Array.from({ length: 50 }, (_, i) => `https://example.com/${tag}/${i}/${'r'.repeat(1880)}`)

/** The largest record the API takes, more or less: every long field at its maximum. */
const maximal = (tag: string) => aRecord({
  title: '€'.repeat(300),
  description: wide(tag),
  references: references(tag),
  assignee: '€'.repeat(200),
  fingerprint: `${tag}-${'f'.repeat(250)}`,
  vulnerabilityIds: Array.from({ length: 50 }, (_, i) => `CVE-2024-${String(10000 + i)}`),
  cweIds: Array.from({ length: 20 }, (_, i) => `CWE-${100 + i}`),
  tags: Array.from({ length: 20 }, (_, i) => `${tag}-${i}-${'t'.repeat(50)}`),
  asset: { name: '€'.repeat(200), type: 'service', environment: 'production', purl: `pkg:npm/${'p'.repeat(990)}` }
})

async function patch (api: RecordsApiHarness, id: string, etag: string, body: unknown) {
  return api.app.inject({ method: 'PATCH', url: `/v1/records/${id}`, headers: { authorization: await api.bearer(), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload: JSON.stringify(body) })
}

async function historyOf (api: RecordsApiHarness, id: string) {
  return (await api.app.inject({ method: 'GET', url: `/v1/records/${id}/history`, headers: { authorization: await api.bearer() } })).json().items as Array<{ version: number }>
}

t.test('a maximal record is created, and a change of its largest fields is a 413 naming the limit, with nothing written', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(maximal('a'))
  t.equal(created.version, 1, 'the largest record fits, with its creation')

  const response = await patch(api, created.id, created.etag, { description: wide('b'), references: references('b') })
  t.equal(response.statusCode, 413, response.body.slice(0, 300))
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { status: 413, title: 'Too large to store', detail: new RegExp(`The record with the change it carries \\(before and after\\) would take \\d+\\.\\d KB in the store: over the store's item limit of ${MAX_ITEM_BYTES / 1024} KB`) })

  const after = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer() } })
  t.equal(after.json().version, 1, 'the record is unchanged')
  await api.settled()
  t.same((await historyOf(api, created.id)).map((entry) => entry.version), [1], 'no history entry for the refused change')
})

t.test('a change of the description alone of a maximal record fits, with its history entry, and so does its deletion', async (t) => {
  const api = await buildRecordsApi(t)
  const created = await api.create(maximal('a'))
  const response = await patch(api, created.id, created.etag, { description: wide('b') })
  t.equal(response.statusCode, 200, response.body.slice(0, 300))
  await api.settled()
  t.same((await historyOf(api, created.id)).map((entry) => entry.version), [2, 1])
  const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/records/${created.id}`, headers: { authorization: await api.bearer(), 'if-match': '"2"' } })
  t.equal(deleted.statusCode, 204, 'and it is deleted, with its deletion in the history')
  await api.settled()
  t.same((await historyOf(api, created.id)).map((entry) => entry.version), [3, 2, 1])
})
