import t from 'tap'
import { processImport } from '../../shared/imports/process-import.ts'
import { sweepOutbox } from '../../jobs/sweep-outbox/sweep-outbox.ts'
import { buildRecordsApi, type RecordsApiHarness } from '../support/records-api.ts'
import { aReport, history, importReport, patch, receive, records, waitForImport, waitForImportOrSweep } from '../support/imports-api.ts'

/**
 * Crash injection through the store: from the `after`-th write on, every write fails as a dead
 * store would (the SDK's 503), until `heal()`. To the import, that is its process dying there.
 */
function crashAfterWrites (api: RecordsApiHarness, after: number) {
  let writes = 0
  let healed = false
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    if (!healed && /^(Put|Update|Delete|BatchWrite)(Item)?Command$/.test(String(context.commandName)) && ++writes > after) {
      throw Object.assign(new Error('injected crash'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    }
    return next(args)
  }, { step: 'initialize', name: 'crashAfterWrites' })
  return { heal: () => { healed = true } }
}

t.test('an import interrupted at any point and taken up again records every result exactly once', async (t) => {
  const results = Array.from({ length: 125 }, (_, line) => ({ rule: `r${line % 5}`, line }))
  // Processing the second report (2 chunks) sends about 245 writes: the lease, then chunk 1 (85 new
  // results: a guard and a record each, 170 puts), its history in 4 batches (writes 172–175), its
  // checkpoint, chunk 2, the resolves. Crash in the lease, mid-chunk, at the history batches (records
  // written, their history not) and while resolving.
  for (const crashAt of [3, 120, 171, 173, 205]) {
    await t.test(`crash after ${crashAt} writes of the processing`, async (t) => {
      const api = await buildRecordsApi(t)
      const baseline = await importReport(t, api, aReport(results.slice(0, 30)))
      t.equal(baseline.counts.created, 30)
      const received = await receive(api, aReport(results.slice(15)))
      const crash = crashAfterWrites(api, crashAt)
      await t.rejects(processImport(api.data, 'acme', received.id, { owner: 'crashing', leaseMs: 1 }), 'the processor dies')
      crash.heal()
      t.equal((await waitForImportOrSweep(api, received.id, 0)).status, 'running', 'left unfinished')
      const done = await waitForImportOrSweep(api, received.id)
      t.equal(done.status, 'succeeded')
      t.match(done.counts, { results: 110, created: 95, unchanged: 15, resolved: 15, updated: 0, reopened: 0, rejected: 0 })
      const items = await records(api)
      t.equal(items.length, 125, 'one record per result, none twice')
      t.equal(new Set(items.map((record) => record.fingerprint)).size, 125)
      t.equal(items.filter((record) => record.status === 'resolved').length, 15)
      for (const record of items.filter((_, i) => i % 15 === 0)) {
        const entries = await history(api, record.id)
        t.same(entries.map((entry) => entry.version), Array.from({ length: record.version }, (_, i) => record.version - i), 'each version in the history once')
      }
    })
  }
})

t.test('a record an interrupted import created and a person changed before the import resumed still gets its creation in the history', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, aReport(Array.from({ length: 40 }, (_, line) => ({ rule: 'r', line }))))
  // The lease and the 40 guards and records are written; the history batches of the chunk are not.
  const crash = crashAfterWrites(api, 81)
  await t.rejects(processImport(api.data, 'acme', received.id, { owner: 'crashing', leaseMs: 1 }), 'the processor dies')
  crash.heal()
  const written = await records(api)
  t.equal(written.length, 40, 'every record was written before the crash')
  t.same(await history(api, written[0]!.id), [], 'the creation of none is in the history yet')
  const changed = await patch(api, written[0]!, { status: 'triaged' })

  const done = await waitForImportOrSweep(api, received.id)
  t.match(done.counts, { results: 40, created: 40, unchanged: 0, updated: 0 })
  const entries = await history(api, changed.id)
  t.same(entries.map((entry) => [entry.version, entry.action]), [[2, 'updated'], [1, 'created']], 'the creation rebuilt beside the change')
  t.match(entries[1], { requestId: new RegExp(`^${received.id}:0:\\d+$`), at: changed.createdAt, actor: { id: 'client:test-writer' } }, 'made by the import, when the record was')
  t.same(entries[1]!.changes.find((change) => change.path === '/status')?.to, 'open')
  for (const record of (await records(api)).slice(1)) t.same((await history(api, record.id)).map((entry) => entry.version), [1], `${record.id}: its creation once`)
})

t.test('a chunk writes while the chunk before it writes its history and checkpoint: both are taken up again as applied in part', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, aReport(Array.from({ length: 150 }, (_, line) => ({ rule: 'r', line }))))
  // Chunk 0's history batches (and so its checkpoint) are held until chunk 1 (50 results) has
  // written its guards and records; then the process dies: no history, no checkpoint, 150 records.
  let puts = 0
  let dead = false
  let release!: () => void
  const chunk1Written = new Promise<void>((resolve) => { release = resolve })
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    const command = String(context.commandName)
    if (command === 'BatchWriteItemCommand') await chunk1Written
    if (dead && /^(Put|Update|Delete|BatchWrite)(Item)?Command$/.test(command)) {
      throw Object.assign(new Error('injected crash'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    }
    const output = await next(args)
    if (command === 'PutItemCommand' && ++puts === 300) {
      dead = true
      release()
    }
    return output
  }, { step: 'initialize', name: 'holdHistoryThenCrash' })
  await t.rejects(processImport(api.data, 'acme', received.id, { owner: 'crashing', leaseMs: 1 }), 'the processor dies')
  dead = false
  const written = await records(api)
  t.equal(written.length, 150, 'both chunks wrote their records before the crash')
  // A record of the second chunk (results 100–149), changed by a person before the import resumes.
  const second = written.find((record) => JSON.stringify(record).includes('r at line 120'))!
  const changed = await patch(api, second, { status: 'triaged' })

  const done = await waitForImportOrSweep(api, received.id)
  t.match(done.counts, { results: 150, created: 150, unchanged: 0, updated: 0 })
  const entries = await history(api, changed.id)
  t.same(entries.map((entry) => [entry.version, entry.action]), [[2, 'updated'], [1, 'created']], 'its creation rebuilt beside the change')
  t.match(entries[1], { requestId: new RegExp(`^${received.id}:0:1\\d\\d$`), at: changed.createdAt })
  for (const record of (await records(api)).filter((record) => record.id !== changed.id)) t.same((await history(api, record.id)).map((entry) => entry.version), [1], `${record.id}: its creation once`)
})

t.test('a record an interrupted import created and a person deleted before the import resumed keeps its creation in the history and is not made again', async (t) => {
  const api = await buildRecordsApi(t)
  // 110 results; the last (chunk 1) repeats result 3 (chunk 0): a record of its own (a repeat is told apart by order).
  const results = [...Array.from({ length: 109 }, (_, line) => ({ rule: 'r', line })), { rule: 'r', line: 3 }]
  const received = await receive(api, aReport(results))
  // Chunk 0 writes its 100 guards and records but not their history (its batches fail); the
  // process dies at chunk 1's first write.
  let puts = 0
  let dead = false
  api.store.client.middlewareStack.add((next, context) => async (args) => {
    const command = String(context.commandName)
    if (command === 'PutItemCommand' && ++puts === 201) dead = true
    if ((dead || (command === 'BatchWriteItemCommand' && puts >= 0)) && /^(Put|Update|Delete|BatchWrite)(Item)?Command$/.test(command)) {
      throw Object.assign(new Error('injected crash'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    }
    return next(args)
  }, { step: 'initialize', name: 'crashAtChunk1' })
  await t.rejects(processImport(api.data, 'acme', received.id, { owner: 'crashing', leaseMs: 1 }), 'the processor dies')
  dead = false
  puts = -Infinity
  const written = await records(api)
  t.equal(written.length, 100, 'chunk 0 wrote its records')
  const doomed = written.find((record) => JSON.stringify(record).includes('r at line 3"'))!
  t.same(await history(api, doomed.id), [], 'its creation is not in the history yet')
  const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/records/${doomed.id}`, headers: { authorization: await api.bearer() } })
  t.equal(deleted.statusCode, 204)
  t.same((await history(api, doomed.id)).map((entry) => [entry.version, entry.action]), [[2, 'deleted'], [1, 'created']], 'the delete wrote the creation the import still owed first')

  const done = await waitForImportOrSweep(api, received.id)
  t.match(done.counts, { results: 110, created: 110, unchanged: 0, updated: 0, rejected: 0 })
  const items = await records(api)
  t.equal(items.length, 109, 'the deleted record is not made again by the resumed chunk; the repeat has its own')
  t.notOk(items.some((record) => record.id === doomed.id))
  const entries = await history(api, doomed.id)
  t.same(entries.map((entry) => [entry.version, entry.action]), [[2, 'deleted'], [1, 'created']], 'its history unchanged')
  t.match(entries[1], { requestId: `${received.id}:0:3`, at: doomed.createdAt })
  for (const record of items.filter((_, i) => i % 10 === 0)) t.same((await history(api, record.id)).map((entry) => entry.version), [1], `${record.id}: its creation once`)
})

t.test('deleting an imported record whose creation is in the history already writes it no second time', async (t) => {
  const api = await buildRecordsApi(t)
  await importReport(t, api, aReport([{ rule: 'r', line: 1 }]))
  const [record] = await records(api)
  const before = await history(api, record!.id)
  const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/records/${record!.id}`, headers: { authorization: await api.bearer() } })
  t.equal(deleted.statusCode, 204)
  const after = await history(api, record!.id)
  t.same(after.map((entry) => [entry.version, entry.action]), [[2, 'deleted'], [1, 'created']])
  t.same(after[1], before[0], 'the creation entry as the import wrote it')
})

t.test('the sweeper takes up a received import nobody processes, and a finished one leaves the outbox', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, aReport(Array.from({ length: 20 }, (_, line) => ({ rule: 'r', line }))))
  t.equal(received.status, 'queued')
  const sweep = await sweepOutbox(api.data, { olderThanMs: 0 })
  t.equal(sweep.imports, 1)
  t.match((await waitForImport(api, received.id)).counts, { created: 20 })
  t.equal((await sweepOutbox(api.data, { olderThanMs: 0 })).imports, 0, 'a finished import is out of the outbox')
})

t.test('an import whose lease another processor holds is not taken over', async (t) => {
  const api = await buildRecordsApi(t)
  const received = await receive(api, aReport([{ rule: 'r', line: 1 }]))
  t.ok(await api.data.imports.acquire('acme', received.id, 'someone-else', new Date(), 60_000))
  t.equal(await processImport(api.data, 'acme', received.id, { owner: 'sweeper' }), undefined)
  t.equal((await sweepOutbox(api.data, { olderThanMs: 0 })).imports, 0)
})
