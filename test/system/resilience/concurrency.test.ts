import t from 'tap'
import { aRecord, buildHardenedApi, storedRecords } from './harness.ts'
import { history, patch, retryingWriters } from './concurrency-scenarios.ts'

const WRITERS = 50

t.test(`${WRITERS} concurrent PATCHes with the same If-Match: exactly one 200, ${WRITERS - 1} × 412, the stored record is the winner's`, async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const created = await api.create()
  const responses = await Promise.all(Array.from({ length: WRITERS }, (_, i) => patch(api, authorization, created.id, { assignee: `writer-${i}` }, created.etag)))
  const statuses = responses.map((response) => response.statusCode)
  t.equal(statuses.filter((status) => status === 200).length, 1, 'one winner')
  t.equal(statuses.filter((status) => status === 412).length, WRITERS - 1, 'every other writer is told its ETag is stale')
  const winner = responses.find((response) => response.statusCode === 200)!.json()
  const [stored] = await storedRecords(api.store)
  t.match(stored, { version: 2, assignee: winner.assignee })
  const entries = (await history(api, authorization, created.id)).items
  t.same(entries.map((entry) => entry.version), [2, 1], 'history: the creation and the one update')
  t.comment(`same If-Match: ${statuses.filter((status) => status === 200).length} × 200, ${statuses.filter((status) => status === 412).length} × 412`)
})

// The full 50 retrying writers run in concurrency.resilience.ts (npm run test:resilience): they take a while on dynalite.
t.test('20 concurrent read-modify-write PATCHes retrying on 412: every change applied, version 21, 21 history entries', (t) => retryingWriters(t, 20))

t.test(`${WRITERS} concurrent creates with one fingerprint: exactly one record, every other writer gets 409 naming it`, async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const body = aRecord({ fingerprint: 'trivy:payments-api:CVE-2024-3094' })
  const responses = await Promise.all(Array.from({ length: WRITERS }, () => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization }, payload: body })))
  const created = responses.filter((response) => response.statusCode === 201)
  t.equal(created.length, 1, 'one 201')
  const winnerId = created[0]!.json().id
  const conflicts = responses.filter((response) => response.statusCode === 409)
  t.equal(conflicts.length, WRITERS - 1, 'the rest 409')
  t.ok(conflicts.every((response) => response.json().existingRecordId === winnerId), 'each 409 names the record holding the fingerprint')
  t.same((await storedRecords(api.store)).map((record) => record.id), [winnerId], 'exactly one record stored')
})

t.test(`${WRITERS} concurrent creates with one Idempotency-Key: exactly one record; every 201 is that record`, async (t) => {
  const api = await buildHardenedApi(t)
  const authorization = await api.bearer()
  const body = aRecord({ title: 'created once' })
  const send = () => api.app.inject({ method: 'POST', url: '/v1/records', headers: { authorization, 'idempotency-key': 'import-2026-03-01-0001' }, payload: body })
  const responses = await Promise.all(Array.from({ length: WRITERS }, send))
  const statuses = responses.map((response) => response.statusCode)
  t.ok(statuses.every((status) => status === 201 || status === 409), `only 201 (original or replay) and 409 (still in progress): ${[...new Set(statuses)]}`)
  const ids = new Set(responses.filter((response) => response.statusCode === 201).map((response) => response.json().id))
  t.equal(ids.size, 1, 'every 201 carries the same record')
  const stored = await storedRecords(api.store)
  t.equal(stored.length, 1, 'exactly one record stored')
  const retry = await send()
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.json().id, stored[0]!.id, 'a later retry replays it')
  t.comment(`one Idempotency-Key: ${statuses.filter((status) => status === 201).length} × 201, ${statuses.filter((status) => status === 409).length} × 409, ${stored.length} record`)
})
