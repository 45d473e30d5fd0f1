import t from 'tap'
import { foldPastDue, recount, RESOLVED_UNIT, retentionHorizon, ttrBucket, type RecordFacts } from '../../../shared/metrics/counters.ts'
import { summarize } from '../../../shared/metrics/summary.ts'
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { METRIC_SHARDS, metricIndexes, metricKeys, metricPartitions, metricShardOf, ttlAttribute } from '../../../shared/store/keys.ts'
import { counterItemId, createMetricsRepository, isPastRetention, PENDING_LEASE_MS, TOMBSTONE_RETENTION_DAYS } from '../../../shared/store/metrics-repository.ts'
import { startTestStore, type TestStore } from '../../support/store.ts'

const tenant = 'acme'
const v1: RecordFacts = { severity: 'critical', status: 'open', category: 'vulnerability', asset: 'api', createdAt: '2026-11-01T10:00:00.000Z', statusChangedAt: '2026-11-01T10:00:00.000Z', dueAt: '2026-11-08T10:00:00.000Z' }
const v2: RecordFacts = { ...v1, status: 'in_progress', statusChangedAt: '2026-11-02T10:00:00.000Z' }
const v3: RecordFacts = { ...v1, status: 'resolved', asset: 'web', statusChangedAt: '2026-11-04T10:00:00.000Z' }

/** The counters that are not zero, per item, shards summed. */
async function counters (store: TestStore) {
  const all = await createMetricsRepository(store).allCounters(tenant)
  return Object.fromEntries([...all].map(([item, values]) => [item, Object.fromEntries(Object.entries(values).filter(([, n]) => n !== 0))]).filter(([, values]) => Object.keys(values as object).length > 0))
}

const countsOf = (facts: RecordFacts, n = 1) => ({ [`s|${facts.severity}|${facts.status}`]: n })

t.test('a redelivered event counts once', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  t.equal(await metrics.apply(tenant, 'r1', 1, v1), 'applied')
  const once = await counters(store)
  t.equal(await metrics.apply(tenant, 'r1', 1, v1), 'stale')
  t.same(await counters(store), once)
  t.same(once.COUNTS, { 's|critical|open': 1, 'c|vulnerability': 1, 'b|critical|2026-11-03': 1 })
  t.same(once['DUE#2026-11-03'], { 'd|critical|2026-11-08': 1 })
})

t.test('events out of order: the newest version counts, an older one arriving later changes nothing', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  t.equal(await metrics.apply(tenant, 'r1', 3, v3), 'applied')
  t.equal(await metrics.apply(tenant, 'r1', 1, v1), 'stale')
  t.equal(await metrics.apply(tenant, 'r1', 2, v2), 'stale')
  const after = await counters(store)
  t.same(after.COUNTS, countsOf(v3))
  t.same(after['ASSET#web'], countsOf(v3))
  t.notOk(after['ASSET#api'], 'the asset it left counts nothing')
  t.same(after['DAY#2026-11-04'], { 'r|critical': 1, [`t|critical|${ttrBucket(3 * 86_400_000)}`]: 1, 'm|critical': 1 })
  t.same(after['REM#2026-11-03'], after['DAY#2026-11-04'], 'the same in the day\'s remediation block')
})

t.test('a dropped event: the next version counts from what was counted, so nothing is left behind', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  await metrics.apply(tenant, 'r1', 1, v1)
  // Version 2 never arrives.
  await metrics.apply(tenant, 'r1', 3, v3)
  t.same((await counters(store)).COUNTS, countsOf(v3))
})

t.test('deleted, then a late update: the record stays uncounted', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  await metrics.apply(tenant, 'r1', 1, v1)
  await metrics.apply(tenant, 'r1', 3, null)
  t.equal(await metrics.apply(tenant, 'r1', 2, v2), 'stale')
  t.same(await counters(store), {})
  t.same(await all(metrics.countedRecords(tenant)), [], 'a deleted record is no longer listed as counted')
})

t.test('a delivery that fails half-way is finished by its redelivery, and each counter item gets the change once', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  await metrics.apply(tenant, 'r1', 1, v1)
  // The store refuses the update of one counter item (the asset's) once, after the others went through.
  refuseOnce(store, (command, input) => command === 'UpdateItemCommand' && String(JSON.stringify(input.Key)).includes('ASSET') && String(input.UpdateExpression).startsWith('ADD'))
  await t.rejects(metrics.apply(tenant, 'r1', 3, v3))
  t.equal(await metrics.apply(tenant, 'r1', 3, v3), 'stale', 'the redelivery finishes the pending change, which was its own')
  t.equal(await metrics.apply(tenant, 'r1', 3, v3), 'stale')
  const after = await counters(store)
  t.same(after.COUNTS, countsOf(v3))
  t.same(after['ASSET#web'], countsOf(v3))
  t.notOk(after['ASSET#api'])
})

t.test('a change left pending by a process that died is finished once its lease ran out, not before', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  let clock = Date.parse('2026-12-01T00:00:00Z')
  const metrics = createMetricsRepository(store, { now: () => clock })
  // The process dies after writing the pending change: every counter update fails, and so does the lease's release.
  const revive = failUpdates(store)
  await t.rejects(metrics.apply(tenant, 'r1', 1, v1))
  revive()
  await t.rejects(metrics.apply(tenant, 'r1', 1, v1), { code: 'SR_METRICS_CONTENDED' }, 'within the lease, a redelivery waits, then gives up (503: redelivered later)')
  clock += PENDING_LEASE_MS + 1
  t.equal(await metrics.apply(tenant, 'r1', 1, v1), 'stale', 'after the lease, the redelivery finishes the dead one\'s change, which was its own')
  t.same((await counters(store)).COUNTS, { 's|critical|open': 1, 'c|vulnerability': 1, 'b|critical|2026-11-03': 1 })
})

t.test('concurrent deliveries of several versions, each twice: the counters are those of the newest', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  const deliveries = [[1, v1], [2, v2], [3, v3], [1, v1], [3, v3], [2, v2]] as const
  await Promise.all(deliveries.map(([version, facts]) => metrics.apply(tenant, 'r1', version, facts)))
  const after = await counters(store)
  t.same(after.COUNTS, countsOf(v3))
  t.same(after['ASSET#web'], countsOf(v3))
  t.same(after['TREND#2026-10-26'], { 'n|2026-11-01': 1, 'n|2026-11-04': RESOLVED_UNIT })
})

t.test('the top assets: most active records first, read from the index, an asset with none left out', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  for (let i = 0; i < 5; i++) await metrics.apply(tenant, `a${i}`, 1, { ...v1, asset: 'big' })
  for (let i = 0; i < 2; i++) await metrics.apply(tenant, `b${i}`, 1, { ...v1, asset: 'small' })
  await metrics.apply(tenant, 'c0', 1, v3)
  t.same(await metrics.topAssets(tenant, 10), [{ name: 'big', open: 5 }, { name: 'small', open: 2 }])
  t.same(await metrics.topAssets(tenant, 1), [{ name: 'big', open: 5 }])
  t.same(await metrics.topAssets('other', 10), [], 'another tenant sees none of them')
  t.equal(counterItemId({ kind: 'asset', asset: 'big' }), 'ASSET#big')
})

t.test('a read folds the past due days into one overdue counter per severity: the next read returns only the days ahead, the figures are unchanged, later changes still count once', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  const now = new Date('2026-12-01T12:00:00.000Z')
  const today = '2026-12-01'
  // 120 records due on 60 past days (more than one fold's chunk per shard), two severities, and 3 due ahead.
  const facts = new Map<string, RecordFacts>()
  for (let i = 0; i < 120; i++) facts.set(`p${i}`, { ...v1, severity: i % 2 === 0 ? 'critical' : 'high', asset: 'api', dueAt: new Date(Date.parse('2026-09-01T10:00:00.000Z') + (i % 60) * 86_400_000).toISOString() })
  for (let i = 0; i < 3; i++) facts.set(`f${i}`, { ...v1, dueAt: '2026-12-20T10:00:00.000Z' })
  for (const [id, one] of facts) await metrics.apply(tenant, id, 1, one)
  const overdueOf = async (asset?: string) => summarize({ now, windowDays: 30, counts: await metrics.readCounts(tenant, today, asset), days: new Map(), topAssets: [] }).overdue
  const dueAttributes = (values: Record<string, number> | undefined) => Object.keys(values ?? {}).filter((name) => name.startsWith('d|') || name.startsWith('b|')).sort()

  t.same(await overdueOf(), { total: 120, bySeverity: { critical: 60, high: 60, medium: 0, low: 0, info: 0 } }, 'the first read: the due days as counted')
  const folded = await counters(store)
  t.same(dueAttributes(folded.COUNTS), ['b|critical|2026-12-13'], 'only the due block ahead is left in the counts')
  t.same({ critical: folded.COUNTS!['o|critical'], high: folded.COUNTS!['o|high'] }, { critical: 60, high: 60 })
  t.same(await overdueOf(), { total: 120, bySeverity: { critical: 60, high: 60, medium: 0, low: 0, info: 0 } }, 'the next read, from the folded counters: the same')
  t.same((await overdueOf('api')).total, 120)
  t.same(dueAttributes((await counters(store))['ASSET#api']), ['d|critical|2026-12-20'], 'an asset read folds the asset\'s item')

  // Resolving and deleting past-due records after the fold, some concurrently with reads that fold again.
  const resolvedAt = '2026-11-30T10:00:00.000Z'
  await Promise.all([
    ...[0, 1, 2, 3].map(async (i) => {
      const one = { ...facts.get(`p${i}`)!, status: 'resolved' as const, statusChangedAt: resolvedAt }
      facts.set(`p${i}`, one)
      await metrics.apply(tenant, `p${i}`, 2, one)
    }),
    metrics.apply(tenant, 'p4', 2, null).then(() => facts.delete('p4')),
    metrics.readCounts(tenant, today),
    metrics.readCounts(tenant, today)
  ])
  t.same(await overdueOf(), { total: 115, bySeverity: { critical: 57, high: 58, medium: 0, low: 0, info: 0 } })
  t.same(await overdueOf(), { total: 115, bySeverity: { critical: 57, high: 58, medium: 0, low: 0, info: 0 } })
  t.same(dueAttributes((await counters(store)).COUNTS), ['b|critical|2026-12-13'])
  // Every counter item equals the recount of the records, once both have their past due days folded.
  const recounted = new Map(recount(facts.values()).map(({ item, adds }) => [counterItemId(item), foldPastDue(adds, today)]))
  const withoutZeros = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).filter(([, n]) => n !== 0))
  for (const [item, values] of await createMetricsRepository(store).allCounters(tenant)) t.same(withoutZeros(foldPastDue(values, today)), withoutZeros(recounted.get(item) ?? {}), item)
})

t.test('the window\'s remediation figures: its whole remediation blocks and its edge days, summed; the trend\'s opened and resolved per day, none after today', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  const resolvedOn = (day: string, hours = 1): RecordFacts => ({ ...v1, createdAt: `${day}T09:00:00.000Z`, status: 'resolved', statusChangedAt: new Date(Date.parse(`${day}T09:00:00.000Z`) + hours * 3_600_000).toISOString() })
  await metrics.apply(tenant, 'old', 1, resolvedOn('2026-10-01'))
  // The window 2026-11-02 .. 2026-12-01: edge days 11-02 and 11-27 .. 12-01, whole blocks 11-03 .. 11-26.
  await metrics.apply(tenant, 'edge-start', 1, resolvedOn('2026-11-02', 2))
  await metrics.apply(tenant, 'inside', 1, resolvedOn('2026-11-20'))
  await metrics.apply(tenant, 'edge-end', 1, resolvedOn('2026-11-30', 3))
  await metrics.apply(tenant, 'ahead', 1, resolvedOn('2026-12-03'))
  await metrics.apply(tenant, 'before', 1, resolvedOn('2026-11-01', 4))
  t.same(await metrics.readWindow(tenant, '2026-11-02', '2026-12-01'), {
    'r|critical': 3,
    'm|critical': 1,
    [`t|critical|${ttrBucket(3_600_000)}`]: 1,
    [`t|critical|${ttrBucket(2 * 3_600_000)}`]: 1,
    [`t|critical|${ttrBucket(3 * 3_600_000)}`]: 1
  }, 'every record resolved in the window once, none before or after it (one before its deadline)')
  t.same(await metrics.readWindow(tenant, '2026-11-02', '2026-11-02'), { 'r|critical': 1, 'm|critical': 1, [`t|critical|${ttrBucket(2 * 3_600_000)}`]: 1 })
  const trend = await metrics.readTrend(tenant, '2026-09-03', '2026-12-01')
  t.same(Object.fromEntries([...trend].sort()), {
    '2026-10-01': { opened: 1, resolved: 1 },
    '2026-11-01': { opened: 1, resolved: 1 },
    '2026-11-02': { opened: 1, resolved: 1 },
    '2026-11-20': { opened: 1, resolved: 1 },
    '2026-11-30': { opened: 1, resolved: 1 }
  }, 'the day after the window is not in it')
  await metrics.apply(tenant, 'inside', 2, null)
  t.same((await metrics.readTrend(tenant, '2026-11-20', '2026-11-20')).get('2026-11-20'), { opened: 0, resolved: 0 }, 'a deleted record leaves the trend')
})

t.test('a tenant with deadlines on every day of a year: the counts hold a due counter per severity and block, the due days come from the block of today only', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  const now = new Date('2026-12-01T12:00:00.000Z')
  const facts: RecordFacts[] = []
  for (let i = 0; i < 365; i++) facts.push({ ...v1, severity: 'low', dueAt: new Date(Date.parse('2026-06-01T10:00:00.000Z') + i * 86_400_000).toISOString() })
  // 16 at a time, as a pod takes deliveries: 365 at once on one asset can keep a store call past its timeout on a loaded machine.
  for (let start = 0; start < facts.length; start += 16) await Promise.all(facts.slice(start, start + 16).map((one, i) => metrics.apply(tenant, `r${start + i}`, 1, one)))
  const counts = await metrics.readCounts(tenant, '2026-12-01')
  t.same(summarize({ now, windowDays: 30, counts, days: new Map(), topAssets: [] }).overdue.bySeverity.low, 183, 'the records due before today (2026-06-01 .. 2026-11-30)')
  const stored = await counters(store)
  const dueCounters = Object.keys(stored.COUNTS ?? {}).filter((name) => name.startsWith('d|') || name.startsWith('b|'))
  t.ok(dueCounters.length <= Math.ceil(182 / 8) + 1, `${dueCounters.length} due counters in the counts after the read, a block each (not a day each)`)
  t.notOk(dueCounters.some((name) => name.startsWith('d|')), 'no due day in the counts')
})

t.test('the top list reads small place items (name and count), never the asset items with their due days; concurrent changes of one asset leave its place at its count', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  await Promise.all(Array.from({ length: 12 }, (_, i) => metrics.apply(tenant, `a${i}`, 1, { ...v1, asset: 'busy', dueAt: new Date(Date.parse(v1.dueAt!) + i * 86_400_000).toISOString() })))
  await Promise.all(Array.from({ length: 4 }, (_, i) => metrics.apply(tenant, `a${i}`, 2, { ...v3, asset: 'busy' })))
  const before = store.commands.length
  t.same(await metrics.topAssets(tenant, 10), [{ name: 'busy', open: 8 }])
  t.same(store.commands.slice(before).map((command) => command.name), Array(METRIC_SHARDS).fill('QueryCommand'), 'a Query per shard')
  const { Items } = await store.documents.send(new QueryCommand({ TableName: store.tableName, IndexName: metricIndexes.topAssets.name, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': metricIndexes.topAssets.pk }, ExpressionAttributeValues: { ':pk': metricPartitions.topAssets(tenant, 'busy') } }))
  t.same(Items!.map((item) => [item.sk, Object.keys(item).some((name) => name.startsWith('d|'))]), [['TOP', false]], 'the index holds the place item only')
})

t.test('a change whose asset place was not written (the process failed after the count) gets its place from the redelivery that finishes it', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  await metrics.apply(tenant, 'r1', 1, v1)
  refuseOnce(store, (command, input) => command === 'PutItemCommand' && /"sk":(\{"S":)?"TOP"/.test(JSON.stringify(input.Item ?? {})))
  await metrics.apply(tenant, 'r2', 1, v1).catch(() => {})
  t.same(await metrics.topAssets(tenant, 10), [{ name: 'api', open: 1 }], 'the place still shows the count before')
  t.equal(await metrics.apply(tenant, 'r2', 1, v1), 'stale', 'the redelivery finishes the change')
  t.same(await metrics.topAssets(tenant, 10), [{ name: 'api', open: 2 }])
})

t.test('a tombstone records when its record was counted deleted, listed by it; pruning removes those deleted before the cutoff, only while still the same tombstone with nothing pending', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  let clock = Date.parse('2026-10-01T00:00:00.000Z')
  const metrics = createMetricsRepository(store, { now: () => clock })
  const stored = async (id: string) => (await store.documents.send(new GetCommand({ TableName: store.tableName, Key: metricKeys.record(tenant, id), ConsistentRead: true }))).Item
  for (const id of ['old', 'raced', 'recent', 'live']) await metrics.apply(tenant, id, 1, v1)
  await metrics.apply(tenant, 'old', 2, null)
  await metrics.apply(tenant, 'raced', 2, null)
  const first = await stored('old')
  t.match(first, { version: 2, facts: null, deletedAt: '2026-10-01T00:00:00.000Z', [metricIndexes.tombstones.pk]: metricPartitions.tombstonesShard(tenant, metricShardOf('old')), [ttlAttribute]: Date.parse('2026-10-01T00:00:00.000Z') / 1000 + TOMBSTONE_RETENTION_DAYS * 86_400 })
  clock += 86_400_000
  t.equal(await metrics.apply(tenant, 'old', 3, null), 'applied', 'deleted again (a repair of a record gone)')
  t.equal((await stored('old'))!.deletedAt, '2026-10-01T00:00:00.000Z', 'keeps the time it was first counted deleted')
  clock += 10 * 86_400_000
  await metrics.apply(tenant, 'recent', 2, null)

  // Between the listing and the delete, a late delete of a higher version (a repair) rewrites one tombstone.
  let raced = false
  store.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'DeleteItemCommand' && !raced && JSON.stringify(args.input).includes('raced')) {
      raced = true
      await metrics.apply(tenant, 'raced', 3, null)
    }
    return next(args)
  }, { step: 'initialize', name: 'race' })
  t.equal(await metrics.pruneTombstones(tenant, new Date('2026-10-05T00:00:00.000Z')), 1, 'the tombstone deleted before the cutoff, not the one changed meanwhile')
  t.notOk(await stored('old'))
  t.match(await stored('raced'), { version: 3, facts: null })
  t.match(await stored('recent'), { version: 2, facts: null }, 'deleted after the cutoff: kept')
  t.match(await stored('live'), { version: 1, facts: v1 }, 'a counted record is no tombstone')
  t.equal(await metrics.pruneTombstones(tenant, new Date('2026-10-05T00:00:00.000Z')), 1, 'the rewritten one goes on the next run')
  t.same((await counters(store)).COUNTS, { 's|critical|open': 1, 'c|vulnerability': 1, 'b|critical|2026-11-03': 1 }, 'the live record still counts')
})

t.test('a tombstone whose deletion is still pending is not pruned while its applier holds the lease; after it, the change is finished first, then the tombstone goes', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  let clock = Date.parse('2026-10-01T00:00:00.000Z')
  const metrics = createMetricsRepository(store, { now: () => clock })
  await metrics.apply(tenant, 'r1', 1, v1)
  // The applier of the deletion dies after writing it as pending.
  const revive = failUpdates(store)
  await t.rejects(metrics.apply(tenant, 'r1', 2, null))
  revive()
  const cutoff = new Date('2026-12-01T00:00:00.000Z')
  t.equal(await metrics.pruneTombstones(tenant, cutoff), 0, 'within the lease: left')
  t.ok((await counters(store)).COUNTS, 'the record still counts')
  clock += PENDING_LEASE_MS + 1
  t.equal(await metrics.pruneTombstones(tenant, cutoff), 1)
  t.same(await counters(store), {}, 'the deletion counted before the tombstone went')
})

t.test('day, remediation, due and trend items wholly before the retention horizon are pruned; a record resolved before it and reopened writes them back negative, which no read asks for, and they are pruned again', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const metrics = createMetricsRepository(store)
  const today = '2026-12-01'
  const horizon = retentionHorizon(today)
  t.equal(horizon, '2025-10-27')
  const old: RecordFacts = { severity: 'high', status: 'resolved', category: 'vulnerability', asset: 'api', createdAt: '2025-01-01T10:00:00.000Z', statusChangedAt: '2025-01-03T10:00:00.000Z', dueAt: '2025-01-31T10:00:00.000Z' }
  // Due on the horizon's block, still open: its due block reaches past the horizon and stays.
  const edge: RecordFacts = { ...v1, createdAt: '2025-10-25T10:00:00.000Z', statusChangedAt: '2025-10-25T10:00:00.000Z', dueAt: '2025-10-27T10:00:00.000Z' }
  await metrics.apply(tenant, 'old', 1, old)
  await metrics.apply(tenant, 'edge', 1, edge)
  await metrics.apply(tenant, 'recent', 1, v3)
  const before = await counters(store)
  const gone = Object.keys(before).filter((id) => isPastRetention(id, today))
  t.same(gone.sort(), ['DAY#2025-01-03', 'REM#2024-12-31', 'TREND#2024-12-23'], 'the old record\'s day, remediation block and trend block')
  t.ok(before['DUE#2025-10-23'] && before['TREND#2025-10-23'], 'the edge record\'s blocks reach past the horizon: kept')

  t.equal(await metrics.pruneCounterItems(tenant, horizon), 3, 'one item each (one record: one shard)')
  const after = await counters(store)
  t.same(Object.keys(after).filter((id) => isPastRetention(id, today)), [], 'none left')
  t.same(after, Object.fromEntries(Object.entries(before).filter(([id]) => !gone.includes(id))), 'the rest as they were')

  // Reopened now: its old day, block and trend items come back with negative counts.
  await metrics.apply(tenant, 'old', 2, { ...old, status: 'open', statusChangedAt: '2026-11-30T10:00:00.000Z' })
  const reopened = await counters(store)
  t.same(reopened['DAY#2025-01-03'], { 'r|high': -1, [`t|high|${ttrBucket(2 * 86_400_000)}`]: -1, 'm|high': -1 })
  t.ok(reopened['DUE#2025-01-24'], 'and a due block of its deadline')
  t.same(await metrics.readWindow(tenant, '2025-12-02', today), { 'r|critical': 1, [`t|critical|${ttrBucket(3 * 86_400_000)}`]: 1, 'm|critical': 1 }, 'a read of the longest window sees none of them')
  t.same([...(await metrics.readTrend(tenant, '2025-12-02', today)).values()].reduce((sum, day) => sum + day.opened + day.resolved, 0), 2, 'nor of the trend: the recent record opened and resolved')
  t.ok(await metrics.pruneCounterItems(tenant, horizon) > 0)
  t.same(Object.keys(await counters(store)).filter((id) => isPastRetention(id, today)), [], 'pruned again')
})

/** Every UpdateItem fails (a process that died after its first write) until the function returned is called. */
function failUpdates (store: TestStore): () => void {
  let dead = true
  store.client.middlewareStack.add((next, context) => async (args) => {
    if (dead && context.commandName === 'UpdateItemCommand') throw Object.assign(new Error('process died'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })
    return next(args)
  }, { step: 'initialize', name: 'dies' })
  return () => { dead = false }
}

/** The store refuses the first request that `matches` (a 500), once. */
function refuseOnce (store: TestStore, matches: (command: string, input: Record<string, unknown>) => boolean): void {
  let refuse = 1
  store.client.middlewareStack.add((next, context) => async (args) => {
    if (matches(String(context.commandName), args.input as Record<string, unknown>) && refuse-- > 0) throw Object.assign(new Error('refused'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })
    return next(args)
  }, { step: 'initialize', name: 'refuseOnce' })
}

async function all<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}
