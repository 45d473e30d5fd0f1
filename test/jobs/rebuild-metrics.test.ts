import t from 'tap'
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { rebuildMetrics } from '../../jobs/rebuild-metrics/rebuild-metrics.ts'
import { COUNTER_RETENTION_DAYS, dayOf, factsOf } from '../../shared/metrics/counters.ts'
import { createRecord } from '../../shared/operations/create-record.ts'
import { createDataLayer } from '../../shared/operations/data-layer.ts'
import { deleteRecord } from '../../shared/operations/delete-record.ts'
import { readMetrics } from '../../shared/operations/record-metrics.ts'
import { updateRecord } from '../../shared/operations/update-record.ts'
import { metricIndexes, metricKeys, metricPartitions, topAssetPosition } from '../../shared/store/keys.ts'
import { isPastRetention, TOMBSTONE_RETENTION_DAYS } from '../../shared/store/metrics-repository.ts'
import { startTestStore } from '../support/store.ts'

const tenant = 'acme'
const actor = { sub: 'client:test', clientId: 'test', tenant }
const silent = { warn () {} }

t.test('a reset rewrites counters written under an older layout from the recount: drift zero, the figures those of the records, later events count on the new counters', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const data = createDataLayer(store, { sink: { enabled: false, async deliver () {} }, log: silent })
  const now = new Date()
  const context = (i: number) => ({ actor, now, requestId: `r${i}` })
  const created = []
  for (let i = 0; i < 6; i++) created.push((await createRecord(data, context(i), { title: `finding ${i}`, category: 'vulnerability', severity: (['critical', 'high', 'low'] as const)[i % 3]!, asset: { name: `asset-${i % 2}`, type: 'service' } })).record)
  const resolved = await updateRecord(data, context(9), created[0]!.id, { status: 'resolved' }, `"${created[0]!.version}"`)
  const live = [resolved, ...created.slice(1)]

  // What the older layout left: each record counted (its metrics item at its version), the counters
  // under the old names — due days in the counts, `opened` on day items, the top list on asset items.
  // It had 8 shards (all of this tenant's in shard 5 here), and an asset whose records are gone.
  const put = (Item: Record<string, unknown>) => store.documents.send(new PutCommand({ TableName: store.tableName, Item }))
  const oldShard = (sk: string) => ({ pk: metricKeys.counts(tenant, 5, 8).pk, sk })
  for (const record of [...live, { ...created[1]!, id: 'deleted-long-ago' }]) {
    const facts = factsOf(record)
    await put({ ...metricKeys.record(tenant, record.id), tenant, version: record.version, facts, [metricIndexes.countedRecords.pk]: metricPartitions.countedRecordsShard(tenant, 5, 8), [metricIndexes.countedRecords.sk]: record.id })
    await put({ ...oldShard('COUNTS'), tenant, [`s|${facts.severity}|${facts.status}`]: 1, ...(facts.dueAt && facts.status !== 'resolved' ? { [`d|${facts.severity}|${facts.dueAt.slice(0, 10)}`]: 1 } : {}) })
    await put({ ...oldShard(`DAY#${facts.createdAt.slice(0, 10)}`), tenant, opened: 1 })
  }
  for (const asset of ['asset-0', 'asset-1', 'retired-asset']) await put({ ...metricKeys.asset(tenant, asset), tenant, asset, open: 3, [metricIndexes.topAssets.pk]: metricPartitions.topAssetsShard(tenant, 5, 8), [metricIndexes.topAssets.sk]: topAssetPosition(3, asset) })

  const repaired = await rebuildMetrics(data.records, data.metrics, tenant)
  t.equal(repaired.repaired, 0, 'every record is counted at its version: a repair has nothing to apply')
  t.ok(repaired.driftAfter.length > 0, 'and cannot move counters kept under other names')

  const reset = await rebuildMetrics(data.records, data.metrics, tenant, { reset: true })
  t.ok(reset.drift.length > 0)
  t.same(reset.driftAfter, [], 'drift zero after the reset')
  t.ok(reset.reset!.removed > 0)
  const left = async (pk: string, index?: string) => (await store.documents.send(new QueryCommand({ TableName: store.tableName, ...(index ? { IndexName: index } : {}), KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': index === metricIndexes.topAssets.name ? metricIndexes.topAssets.pk : index === metricIndexes.countedRecords.name ? metricIndexes.countedRecords.pk : 'pk' }, ExpressionAttributeValues: { ':pk': pk } }))).Items ?? []
  t.same(await left(metricKeys.counts(tenant, 5, 8).pk), [], 'nothing left in the old layout\'s shards')
  t.same(await left(metricPartitions.topAssetsShard(tenant, 5, 8), metricIndexes.topAssets.name), [], 'nor in its top list')
  t.same(await left(metricPartitions.countedRecordsShard(tenant, 5, 8), metricIndexes.countedRecords.name), [], 'nor in its counted records')
  t.same((await rebuildMetrics(data.records, data.metrics, tenant, { repair: false })).drift, [])

  const figures = await readMetrics(data.metrics, tenant, { windowDays: 30 }, now)
  t.same(figures.open, { total: 5, bySeverity: { critical: 1, high: 2, medium: 0, low: 2, info: 0 } })
  t.same(figures.topAssets, [{ name: 'asset-1', open: 3 }, { name: 'asset-0', open: 2 }], 'the top list from the new places only')
  t.equal(figures.trend!.at(-1)!.opened, 6)
  t.equal(figures.trend!.at(-1)!.resolved, 1)

  // Counting goes on from what the reset wrote: an event already counted is stale, a newer one moves the record.
  const low = live.find((record) => record.severity === 'low')!
  t.equal(await data.metrics.apply(tenant, low.id, low.version, factsOf(low)), 'stale')
  const patched = await updateRecord(data, context(10), low.id, { status: 'resolved' }, `"${low.version}"`)
  t.equal(await data.metrics.apply(tenant, patched.id, patched.version, factsOf(patched)), 'applied')
  t.same((await rebuildMetrics(data.records, data.metrics, tenant, { repair: false })).drift, [], 'still no drift')
  t.equal((await readMetrics(data.metrics, tenant, { windowDays: 30 }, now)).open.total, 4)
})

t.test('a reset of a tenant whose records are all gone leaves no counter item and no counted record', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const data = createDataLayer(store, { sink: { enabled: false, async deliver () {} }, log: silent })
  await data.metrics.apply(tenant, 'gone', 1, { severity: 'high', status: 'open', category: 'vulnerability', asset: 'api', createdAt: '2026-11-01T10:00:00.000Z', statusChangedAt: '2026-11-01T10:00:00.000Z', dueAt: '2026-12-01T10:00:00.000Z' })
  const outcome = await rebuildMetrics(data.records, data.metrics, tenant, { reset: true })
  t.same(outcome.driftAfter, [])
  t.same(await data.metrics.allCounters(tenant), new Map())
  t.same(await data.metrics.topAssets(tenant, 10), [])
  const counted = []
  for await (const record of data.metrics.countedRecords(tenant)) counted.push(record)
  t.same(counted, [])
})

t.test('the rebuild prunes tombstones past their retention: a later event of the record counts it again, and the next rebuild uncounts it', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const data = createDataLayer(store, { sink: { enabled: false, async deliver () {} }, log: silent })
  const now = new Date()
  const { record } = await createRecord(data, { actor, now, requestId: 'r1' }, { title: 'finding', category: 'vulnerability', severity: 'high', asset: { name: 'api', type: 'service' } })
  await data.metrics.apply(tenant, record.id, record.version, factsOf(record))
  await deleteRecord(data, { actor, now, requestId: 'r2' }, record.id, `"${record.version}"`)
  await data.metrics.apply(tenant, record.id, record.version + 1, null)
  const later = (days: number) => new Date(now.getTime() + days * 86_400_000)

  const soon = await rebuildMetrics(data.records, data.metrics, tenant, { now: later(TOMBSTONE_RETENTION_DAYS - 1) })
  t.same(soon.pruned, { tombstones: 0, items: 0 }, 'within the retention: kept')
  t.equal(await data.metrics.apply(tenant, record.id, record.version, factsOf(record)), 'stale', 'and a late event is stale')
  const past = await rebuildMetrics(data.records, data.metrics, tenant, { now: later(TOMBSTONE_RETENTION_DAYS + 1) })
  t.same(past.pruned, { tombstones: 1, items: 0 })
  t.same(past.driftAfter, [])
  const item = await store.documents.send(new GetCommand({ TableName: store.tableName, Key: metricKeys.record(tenant, record.id), ConsistentRead: true }))
  t.notOk(item.Item, 'the tombstone is gone')

  // Later than any redelivery: the record counts again until the next daily run.
  t.equal(await data.metrics.apply(tenant, record.id, record.version, factsOf(record)), 'applied')
  const next = await rebuildMetrics(data.records, data.metrics, tenant, { now: later(TOMBSTONE_RETENTION_DAYS + 2) })
  t.equal(next.repaired, 1, 'uncounted again (a record gone)')
  t.same(next.driftAfter, [])
  t.equal((await readMetrics(data.metrics, tenant, { windowDays: 30 }, now)).open.total, 0)
})

t.test('the rebuild prunes day and block items before the retention horizon; a record resolved before it and reopened brings them back negative, which the drift leaves out and the next run prunes', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const data = createDataLayer(store, { sink: { enabled: false, async deliver () {} }, log: silent })
  const now = new Date('2026-12-01T12:00:00.000Z')
  const longAgo = new Date(now.getTime() - (COUNTER_RETENTION_DAYS + 30) * 86_400_000)
  const old = (await createRecord(data, { actor, now: longAgo, requestId: 'r1' }, { title: 'old', category: 'vulnerability', severity: 'high', asset: { name: 'api', type: 'service' } })).record
  const resolved = await updateRecord(data, { actor, now: new Date(longAgo.getTime() + 86_400_000), requestId: 'r2' }, old.id, { status: 'resolved' }, `"${old.version}"`)
  const recent = (await createRecord(data, { actor, now, requestId: 'r3' }, { title: 'recent', category: 'vulnerability', severity: 'low', asset: { name: 'api', type: 'service' } })).record
  for (const record of [resolved, recent]) await data.metrics.apply(tenant, record.id, record.version, factsOf(record))
  const oldItems = async () => [...(await data.metrics.allCounters(tenant)).keys()].filter((id) => isPastRetention(id, '2026-12-01'))
  const stale = (await oldItems()).length
  t.ok(stale >= 3, 'the old record\'s day, remediation and trend items')

  const first = await rebuildMetrics(data.records, data.metrics, tenant, { now })
  t.same([first.drift, first.driftAfter], [[], []])
  t.equal(first.pruned.items, stale, 'they are removed')
  t.same(await oldItems(), [])
  t.same((await rebuildMetrics(data.records, data.metrics, tenant, { now, repair: false })).drift, [], 'the recount\'s items before the horizon are left out: no drift')

  const reopened = await updateRecord(data, { actor, now, requestId: 'r4' }, old.id, { status: 'open' }, `"${resolved.version}"`)
  t.equal(await data.metrics.apply(tenant, reopened.id, reopened.version, factsOf(reopened)), 'applied')
  t.ok((await data.metrics.allCounters(tenant)).get(`DAY#${dayOf(resolved.statusChangedAt)}`)!['r|high']! < 0, 'the old day written back with a negative count')
  const second = await rebuildMetrics(data.records, data.metrics, tenant, { now })
  t.same([second.drift, second.driftAfter], [[], []], 'not drift')
  t.ok(second.pruned.items > 0, 'pruned again')
  t.same(await oldItems(), [])
  const figures = await readMetrics(data.metrics, tenant, { windowDays: 365 }, now)
  t.same(figures.open.bySeverity, { critical: 0, high: 1, medium: 0, low: 1, info: 0 })
  t.equal(figures.remediation?.high.resolved, 0)
})

t.test('the rebuild reports asset places that do not show their asset\'s open count, or are missing, and writes them from the asset items', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const data = createDataLayer(store, { sink: { enabled: false, async deliver () {} }, log: silent })
  const now = new Date()
  for (let i = 0; i < 5; i++) {
    const { record } = await createRecord(data, { actor, now, requestId: `r${i}` }, { title: `finding ${i}`, category: 'vulnerability', severity: 'high', asset: { name: `asset-${i % 2}`, type: 'service' } })
    await data.metrics.apply(tenant, record.id, record.version, factsOf(record))
  }
  // A place left behind its asset (written before the last change and never after), and one lost.
  await store.documents.send(new PutCommand({ TableName: store.tableName, Item: { ...metricKeys.assetTop(tenant, 'asset-0'), tenant, asset: 'asset-0', open: 1, rev: 1, [metricIndexes.topAssets.pk]: metricPartitions.topAssets(tenant, 'asset-0'), [metricIndexes.topAssets.sk]: topAssetPosition(1, 'asset-0') } }))
  await store.documents.send(new DeleteCommand({ TableName: store.tableName, Key: metricKeys.assetTop(tenant, 'asset-1') }))
  t.same(await data.metrics.topAssets(tenant, 10), [{ name: 'asset-0', open: 1 }])

  const report = await rebuildMetrics(data.records, data.metrics, tenant, { repair: false })
  t.same(report.placeDrift, [{ asset: 'asset-0', open: 3, placed: 1 }, { asset: 'asset-1', open: 2, placed: null }])
  t.same(report.placeDriftAfter, report.placeDrift, 'a report only repairs nothing')
  const repaired = await rebuildMetrics(data.records, data.metrics, tenant)
  t.same(repaired.placeDrift, report.placeDrift)
  t.same(repaired.placeDriftAfter, [])
  t.same(await data.metrics.topAssets(tenant, 10), [{ name: 'asset-0', open: 3 }, { name: 'asset-1', open: 2 }])
})
