import t from 'tap'
import { aRecord, buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { sweepOutbox } from '../../jobs/sweep-outbox/sweep-outbox.ts'
import { startEventSink } from '../support/event-sink.ts'
import { crashStoreWrites, eventually } from '../support/store.ts'

async function send (api: RecordsApiHarness, method: 'PATCH' | 'DELETE' | 'GET', id: string, headers: Record<string, string> = {}, body?: unknown) {
  return api.app.inject({ method, url: `/v1/records/${id}`, headers: { authorization: await api.bearer(), ...headers }, ...(body ? { payload: body as object } : {}) })
}

t.test('every committed change is delivered to K_SINK as a binary-mode CloudEvent', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const created = await api.create()
  const updated = await send(api, 'PATCH', created.id, { 'if-match': created.etag }, { status: 'triaged' })
  t.equal(updated.statusCode, 200)
  t.equal((await send(api, 'DELETE', created.id)).statusCode, 204)

  // Events follow the commit: the responses did not wait for them.
  await eventually(() => sink.received.length === 3)
  const version = (event: { headers: Record<string, unknown> }) => Number(String(event.headers['ce-id']).split('/')[1])
  const [c, u, d] = [...sink.received].sort((a, b) => version(a) - version(b))
  t.match(c!.headers, {
    'ce-specversion': '1.0',
    'ce-type': 'com.mediamarktsaturn.security.record.created',
    'ce-source': '/tenants/acme/records',
    'ce-subject': created.id,
    'ce-tenant': 'acme',
    'ce-id': `${created.id}/1`,
    'ce-time': created.createdAt,
    'content-type': /^application\/json/
  })
  const { etag: _etag, ...record } = created
  t.same(JSON.parse(c!.body), record, 'data is the record')
  t.match(u!.headers, { 'ce-type': 'com.mediamarktsaturn.security.record.updated', 'ce-id': `${created.id}/2` })
  t.same(JSON.parse(u!.body), updated.json())
  t.match(d!.headers, { 'ce-type': 'com.mediamarktsaturn.security.record.deleted', 'ce-id': `${created.id}/3` })
  t.same(JSON.parse(d!.body), { id: created.id })
  t.equal(new Set(sink.received.map((event) => event.headers['ce-id'])).size, 3, 'ids are unique per change')
})

t.test('failed writes produce no event and no history', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const created = await api.create()
  await eventually(() => sink.received.length === 1)
  t.equal((await send(api, 'PATCH', created.id, { 'if-match': '"9"' }, { title: 'x' })).statusCode, 412)
  t.equal((await send(api, 'PATCH', created.id, { 'if-match': created.etag }, { status: 'duplicate' })).statusCode, 400)
  t.equal(sink.received.length, 1)
  const history = await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}/history`, headers: { authorization: await api.bearer() } })
  t.equal(history.json().items.length, 1)
})

t.test('a sink that is down does not fail the write; the event is delivered on the next touch', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  sink.respondWith(503)
  const created = await api.create()
  // The create's follow-up wrote the history entry and, the sink refusing, left its event in the outbox.
  await eventually(() => sink.attempts() === 1)
  t.equal(sink.received.length, 0)
  sink.respondWith(202)
  const sweep = await sweepOutbox(api.data, { olderThanMs: 0 })
  t.equal(sweep.delivered, 1)
  t.equal(sink.received.length, 1)
  t.equal(sink.received[0]!.headers['ce-id'], `${created.id}/1`)
  t.equal((await sweepOutbox(api.data, { olderThanMs: 0 })).delivered, 0, 'delivered once, then out of the outbox')
})

/** Makes the next history entry write (once armed) fail: the function "dies" right after its commit. */
function crashNextHistoryWrite (api: RecordsApiHarness) {
  let armed = false
  let crashed = false
  crashStoreWrites(api.store, 'history', () => {
    if (!armed) return undefined
    armed = false
    crashed = true
    return new Error('injected crash after the record write')
  })
  return { arm: () => { armed = true }, happened: () => crashed }
}

t.test('fault injection: a function that dies right after the record write loses neither history nor event', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const crash = crashNextHistoryWrite(api)
  const created = await api.create()
  await eventually(() => sink.received.length === 1)
  crash.arm()
  const committed = await send(api, 'PATCH', created.id, { 'if-match': created.etag }, { title: 'committed, then the function died' })
  t.equal(committed.statusCode, 200, 'the answer left at the commit point, before the history entry')
  await eventually(crash.happened)
  t.equal(sink.received.length, 1, 'only the create event so far')

  // Recovery: the next read of the record finishes the change.
  const read = await send(api, 'GET', created.id)
  t.equal(read.json().version, 2, 'the change was committed')
  t.equal(read.json().title, 'committed, then the function died')
  const history = (await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}/history`, headers: { authorization: await api.bearer() } })).json().items
  t.same(history.map((entry: { version: number }) => entry.version), [2, 1], 'the history entry appeared, once')
  t.same(sink.received.map((event) => event.headers['ce-id']), [`${created.id}/1`, `${created.id}/2`], 'the event appeared, once')

  // Further reads and sweeps change nothing.
  await send(api, 'GET', created.id)
  await sweepOutbox(api.data, { olderThanMs: 0 })
  t.equal(sink.received.length, 2)
  t.equal((await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}/history`, headers: { authorization: await api.bearer() } })).json().items.length, 2)
})

t.test('fault injection: a crash after a delete is finished by the sweeper', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const crash = crashNextHistoryWrite(api)
  const created = await api.create()
  await eventually(() => sink.received.length === 1)
  crash.arm()
  t.equal((await send(api, 'DELETE', created.id)).statusCode, 204)
  await eventually(crash.happened)
  const list = await api.app.inject({ method: 'GET', url: '/v1/records', headers: { authorization: await api.bearer() } })
  t.same(list.json().items, [], 'the tombstone is in no index')
  const sweep = await sweepOutbox(api.data, { olderThanMs: 0 })
  t.equal(sweep.settled, 1, 'nobody touched the record: the sweeper finished the delete')
  t.same(sink.received.map((event) => event.headers['ce-type']), ['com.mediamarktsaturn.security.record.created', 'com.mediamarktsaturn.security.record.deleted'])
  const history = (await api.app.inject({ method: 'GET', url: `/v1/records/${created.id}/history`, headers: { authorization: await api.bearer() } })).json().items
  t.same(history.map((entry: { action: string }) => entry.action), ['deleted', 'created'])
  t.equal((await send(api, 'GET', created.id)).statusCode, 404)
})

t.test('without K_SINK no events are produced and nothing waits in the outbox', async (t) => {
  const api = await buildRecordsApi(t)
  await api.create(aRecord())
  await api.settled()
  t.same(await sweepOutbox(api.data, { olderThanMs: 0 }), { settled: 0, delivered: 0, imports: 0 })
})
