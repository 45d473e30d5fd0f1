import t from 'tap'
import { processImport } from '../../shared/imports/process-import.ts'
import { sweepOutbox } from '../../jobs/sweep-outbox/sweep-outbox.ts'
import { historySortKey } from '../../shared/store/keys.ts'
import type { OutboxEntry } from '../../shared/store/outbox.ts'
import { startEventSink, type ReceivedEvent } from '../support/event-sink.ts'
import { buildRecordsApi } from '../support/records-api.ts'
import { aReport, history, receive, records, waitForImportOrSweep } from '../support/imports-api.ts'

/**
 * An import's events with a sink (K_SINK): a new record's event is delivered before its history
 * batch, and only the entries of events the sink refused carry the event into the outbox.
 */

const eventId = ({ headers }: ReceivedEvent) => String(headers['ce-id'])
const createdEventIds = (items: Array<{ id: string }>) => items.map((record) => `${record.id}/1`).sort()
const resultsAt = (count: number) => aReport(Array.from({ length: count }, (_, line) => ({ rule: `r${line % 3}`, line })))

t.test('a sink that refuses some of an import\'s events: exactly their history entries wait in the outbox with the event, and the sweeper delivers them', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const received = await receive(api, resultsAt(120))
  // About half the records, by their id: the events of those the broker refuses.
  const refused = new Set<string>()
  sink.refuseWhen((event) => {
    const refuses = parseInt(eventId(event).split('/')[0]!.slice(-1), 16) % 2 === 0
    if (refuses) refused.add(eventId(event))
    return refuses
  })
  const sent = api.store.commands.length
  t.match((await processImport(api.data, 'acme', received.id, { owner: 'flaky sink' }))?.counts, { created: 120 })

  const items = await records(api)
  t.ok(refused.size > 0 && refused.size < items.length, `${refused.size} of ${items.length} events refused`)
  const historyPrefix = historySortKey(0).replace(/\d+$/, '')
  const historyUpdates = api.store.commands.slice(sent).filter(({ name, input }) => name === 'UpdateItemCommand' && String((input.Key as { sk: string }).sk).startsWith(historyPrefix))
  t.same(historyUpdates, [], 'no history entry was updated: those delivered were written without their event')
  const owed = await api.data.outbox.due(new Date(Date.now() + 60_000))
  t.same(owed.map((entry) => entry.kind === 'event' ? `${entry.recordId}/${entry.change.version}` : entry.kind).sort(), [...refused].sort(), 'exactly the refused events wait in the outbox')
  const first = owed[0] as Extract<OutboxEntry, { kind: 'event' }>
  t.match(first, { change: { version: 1, action: 'created', requestId: new RegExp(`^${received.id}:0:\\d+$`) }, data: items.find((record) => record.id === first.recordId) }, 'with the record as the event\'s data')
  for (const record of items) t.same((await history(api, record.id)).map((entry) => entry.version), [1], `${record.id}: its creation in the history once`)

  sink.refuseWhen()
  t.equal((await sweepOutbox(api.data, { olderThanMs: 0 })).delivered, refused.size, 'the sweeper delivers the refused events')
  t.same(await api.data.outbox.due(new Date(Date.now() + 60_000)), [], 'nothing owed any more')
  t.same(sink.received.map(eventId).sort(), createdEventIds(items), 'every record\'s created event accepted once, with its stable id')
})

t.test('an import that dies after delivering a chunk\'s events and before its history batch, taken up again: each history entry once, those events delivered again with the same id', async (t) => {
  const sink = await startEventSink(t)
  const api = await buildRecordsApi(t, { sinkUrl: sink.url })
  const received = await receive(api, resultsAt(150))
  // The process dies at the first chunk's history batch (the import's first BatchWriteItem): no write gets through after it.
  let dead = false
  let healed = false
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    const name = String(context.commandName)
    dead ||= name === 'BatchWriteItemCommand'
    if (dead && !healed && /^(Put|Update|Delete|BatchWrite)(Item)?Command$/.test(name)) {
      throw Object.assign(new Error('injected crash'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    }
    return next(args)
  }, { step: 'initialize', name: 'crashAtHistoryBatch' })
  await t.rejects(processImport(api.data, 'acme', received.id, { owner: 'crashing', leaseMs: 1 }), 'the processor dies')
  healed = true
  const deliveredBefore = sink.received.map(eventId)
  // The next chunk writes (and may deliver) while the first one's history batch goes: 100 or more.
  t.ok(deliveredBefore.length >= 100, `the first chunk's events were delivered before the crash (${deliveredBefore.length})`)
  t.same(await history(api, String(deliveredBefore[0]).split('/')[0]!), [], 'their history entries were not written')
  t.same(await api.data.outbox.due(new Date(Date.now() + 60_000)).then((owed) => owed.map((entry) => entry.kind)), ['import'], 'the unfinished import is all the outbox holds: it owes that history')

  const done = await waitForImportOrSweep(api, received.id)
  t.match(done, { status: 'succeeded', counts: { results: 150, created: 150 } })
  const items = await records(api)
  t.equal(items.length, 150)
  for (const record of items) t.same((await history(api, record.id)).map((entry) => entry.version), [1], `${record.id}: its creation in the history once`)
  t.same(await api.data.outbox.due(new Date(Date.now() + 60_000)), [], 'nothing owed')
  const deliveries = new Map<string, number>()
  for (const id of sink.received.map(eventId)) deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
  t.same([...deliveries.keys()].sort(), createdEventIds(items), 'every record\'s created event, with its stable id')
  t.same(deliveredBefore.map((id) => deliveries.get(id)), deliveredBefore.map(() => 2), 'the interrupted chunks\' events again (at least once), under the same ids')
  t.equal([...deliveries.values()].filter((count) => count === 1).length, 150 - deliveredBefore.length, 'the others once')
})
