import t from 'tap'
import { processImport } from '../../shared/imports/process-import.ts'
import { DEFAULT_INDEX_SHARDS } from '../../shared/store/keys.ts'
import { startEventSink } from '../support/event-sink.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, history, importReport, receive, records } from '../support/imports-api.ts'

/**
 * What an import costs the store, counted per request (the SDK's command names): the figures
 * behind the throughput targets (README "Importing scanner reports"), as a specification.
 */
function countRequests (api: RecordsApiHarness) {
  const counts: Record<string, number> = {}
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    const name = String(context.commandName).replace(/Command$/, '')
    counts[name] = (counts[name] ?? 0) + 1
    return next(args)
  }, { step: 'initialize', name: 'countRequests' })
  return counts
}

const RESULTS = 250
const report = aReport(Array.from({ length: RESULTS }, (_, line) => ({ rule: `r${line % 7}`, line })))

// With a sink (K_SINK, always so in the cluster) a new result's event is delivered before its
// history batch, which writes the entry without the event: no write of its own to mark it delivered.
for (const sinkSet of [false, true]) {
  t.test(`a new result costs two conditional puts (its fingerprint guard and its record); history goes in batches, reads in batches per chunk${sinkSet ? '; its event costs no write' : ''}`, async (t) => {
    const sink = sinkSet ? await startEventSink(t) : undefined
    const api = await buildRecordsApi(t, { sinkUrl: sink?.url })
    const received = await receive(api, report)
    const counts = countRequests(api)
    const done = await processImport(api.data, 'acme', received.id, { owner: 'counted' })
    await api.data.publisher.drain()
    t.match(done?.counts, { created: RESULTS })
    // 3 chunks (100, 100, 50): history 4 + 4 + 2 batches of at most 25; lease, 3 checkpoints, finish,
    // leaving the scope's line; the line read for the turn and to leave it; per chunk the guards and,
    // for fingerprints nobody holds, the guards of the earlier scheme's fingerprints (a record it
    // made is taken over); the table's index layout read once (then cached); the resolve walk
    // Queries each shard of the asset.
    t.same(counts, { UpdateItem: 6, GetItem: 4 + 1 + 2, BatchGetItem: 3 + 3, PutItem: 2 * RESULTS, BatchWriteItem: 10, Query: DEFAULT_INDEX_SHARDS })
    const writes = counts.PutItem! + counts.UpdateItem! + counts.BatchWriteItem!
    t.ok(writes / RESULTS < 2.1, `${(writes / RESULTS).toFixed(2)} write requests per new result`)

    const items = await records(api)
    t.equal(items.length, RESULTS)
    for (const record of items.filter((_, i) => i % 50 === 0)) t.same((await history(api, record.id)).map((entry) => [entry.version, entry.action]), [[1, 'created']])
    t.same(await api.data.outbox.due(new Date(Date.now() + 60_000)), [], 'no record was in the outbox to be cleared: the import owed their history')
    if (sink) t.same(sink.received.map(({ headers }) => headers['ce-id']).sort(), items.map((record) => `${record.id}/1`).sort(), 'each record\'s created event once, with its stable id')
  })
}

t.test('an unchanged result costs no request of its own: its guard and record come in the chunk\'s batch reads', async (t) => {
  const api = await buildRecordsApi(t)
  await processImport(api.data, 'acme', (await receive(api, report)).id, { owner: 'first' })
  const received = await receive(api, report)
  const counts = countRequests(api)
  const done = await processImport(api.data, 'acme', received.id, { owner: 'counted' })
  t.match(done?.counts, { created: 0, unchanged: RESULTS })
  // Per chunk: its part, the guards, the records, the checkpoint; the lease, the scope's line (read
  // for the turn, read and left at the end), the resolve walk (a Query per shard of the asset), the
  // finish. The layout is cached from the first import.
  t.same(counts, { UpdateItem: 6, GetItem: 4 + 2, BatchGetItem: 6, Query: DEFAULT_INDEX_SHARDS })
})

t.test('a chunk\'s history batches go side by side: one round trip, not four', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, report)
  let inFlight = 0
  let mostInFlight = 0
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'BatchWriteItemCommand') return next(args)
    mostInFlight = Math.max(mostInFlight, ++inFlight)
    try {
      return await next(args)
    } finally {
      inFlight--
    }
  }, { step: 'initialize', name: 'countBatchWritesInFlight' })
  t.match((await processImport(api.data, 'acme', received.id, { owner: 'counted' }))?.counts, { created: RESULTS })
  // A chunk of 100 new results owes 100 history entries: 4 BatchWriteItem requests of 25, at once.
  // The next chunk's may start before they end (it writes meanwhile), never a third chunk's.
  t.ok(mostInFlight >= 4 && mostInFlight <= 2 * 4, `${mostInFlight} history batches in flight at most`)
})

t.test('the next chunk writes while a chunk\'s history and checkpoint are under way', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, report)
  // Chunk 0's history batches are held until chunk 1 writes (or 2 s pass: before, chunk 1 waited for them).
  let puts = 0
  let chunk1Wrote!: () => void
  const chunk1Writing = new Promise<void>((resolve) => { chunk1Wrote = resolve })
  let heldUntilChunk1 = false
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'PutItemCommand' && ++puts === 2 * 100 + 1) chunk1Wrote()
    if (context.commandName === 'BatchWriteItemCommand' && puts <= 2 * 100) {
      heldUntilChunk1 = await Promise.race([chunk1Writing.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, 2000, false))])
    }
    return next(args)
  }, { step: 'initialize', name: 'holdChunk0History' })
  t.match((await processImport(api.data, 'acme', received.id, { owner: 'overlapped' }))?.counts, { created: RESULTS })
  t.ok(heldUntilChunk1, 'chunk 1 wrote while chunk 0\'s history was held')
  t.equal((await records(api)).length, RESULTS)
})

/** The most PutItem requests (a new result's guard, then its record) under way at once while `act` runs. */
async function mostPutsInFlight (api: RecordsApiHarness, act: () => Promise<unknown>): Promise<number> {
  let inFlight = 0
  let most = 0
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'PutItemCommand') return next(args)
    most = Math.max(most, ++inFlight)
    try {
      return await next(args)
    } finally {
      inFlight--
    }
  }, { step: 'initialize', name: 'countPutsInFlight' })
  await act()
  return most
}

t.test('IMPORT_RESULTS_IN_FLIGHT bounds the results an import applies at once (the local stack, one process, takes 2)', async (t) => {
  const bounded = await buildRecordsApi(t, { config: { IMPORT_RESULTS_IN_FLIGHT: 2 } })
  let done: Awaited<ReturnType<typeof importReport>> | undefined
  const boundedMost = await mostPutsInFlight(bounded, async () => { done = await importReport(t, bounded, report) })
  t.match(done, { status: 'succeeded', counts: { created: RESULTS } }, 'every result applied all the same')
  t.ok(boundedMost <= 2, `${boundedMost} puts in flight at most`)
  t.equal((await records(bounded)).length, RESULTS)

  // Without the setting an instance applies many at once (what a pod of its own is for).
  const unbounded = await buildRecordsApi(t)
  const unboundedMost = await mostPutsInFlight(unbounded, () => importReport(t, unbounded, report))
  t.ok(unboundedMost > 2, `${unboundedMost} puts in flight at most by default`)
})
