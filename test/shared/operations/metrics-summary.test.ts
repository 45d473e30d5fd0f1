import t from 'tap'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import type { RecordFacts } from '../../../shared/metrics/counters.ts'
import { readMetrics } from '../../../shared/operations/record-metrics.ts'
import { metricIndexes, metricKeys, metricPartitions, METRIC_SHARDS, topAssetPosition } from '../../../shared/store/keys.ts'
import { createMetricsRepository, SUMMARY_MAX_AGE_MS, SUMMARY_SETTLE_MS, type MetricsRepository } from '../../../shared/store/metrics-repository.ts'
import { startTestStore } from '../../support/store.ts'

const tenant = 'acme'
const DAY = 86_400_000
const start = Date.parse('2026-11-20T09:00:00.000Z')

const facts = (i: number, status: RecordFacts['status'] = 'open'): RecordFacts => ({
  severity: (['critical', 'high', 'medium'] as const)[i % 3]!,
  status,
  category: 'vulnerability',
  asset: `asset-${i % 4}`,
  createdAt: new Date(start - (i % 20) * DAY).toISOString(),
  statusChangedAt: new Date(start - (i % 5) * DAY).toISOString(),
  dueAt: new Date(start + (10 - (i % 20)) * DAY).toISOString()
})

/** A store, a metrics repository on a clock the test moves, and what each read sends. */
async function harness (t: { teardown (close: () => unknown): void }) {
  const store = await startTestStore()
  t.teardown(() => store.close())
  const clock = { now: start }
  const metrics = createMetricsRepository(store, { now: () => clock.now })
  const read = async (windowDays = 30, repository: MetricsRepository = metrics) => {
    const before = store.commands.length
    const figures = await readMetrics(repository, tenant, { windowDays }, new Date(clock.now))
    return { figures, requests: store.commands.slice(before).map((command) => command.name) }
  }
  return { store, clock, metrics, read }
}

const withoutAsOf = ({ asOf, ...figures }: Record<string, unknown>) => figures
const counted = (requests: string[], name: string) => requests.filter((one) => one === name).length

t.test('a tenant whose counters are still: the read after the first is one BatchGetItem and answers the same figures; a counted change is read at once', async (t) => {
  const { clock, metrics, read } = await harness(t)
  for (let i = 0; i < 12; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i, i % 4 === 0 ? 'resolved' : 'open'))
  clock.now += SUMMARY_SETTLE_MS

  const first = await read()
  t.equal(counted(first.requests, 'BatchGetItemCommand'), 4, 'the summary with the change counts, then the counts, the window and the trend')
  t.equal(counted(first.requests, 'QueryCommand'), METRIC_SHARDS, 'the top list, a Query per shard')
  t.equal(counted(first.requests, 'PutItemCommand'), 1, 'the figures kept')

  clock.now += 1000
  const second = await read()
  t.same(second.requests, ['BatchGetItemCommand'], 'one request')
  t.same(withoutAsOf(second.figures), withoutAsOf(first.figures), 'the same figures')
  t.equal(second.figures.asOf, new Date(clock.now).toISOString(), 'as of the read')

  // A change counted: the next read reads the counters again and shows it.
  await metrics.apply(tenant, 'r12', 1, facts(12))
  const third = await read()
  t.equal(third.figures.open.total, first.figures.open.total + 1, 'the new record counted at once')
  t.equal(counted(third.requests, 'QueryCommand'), METRIC_SHARDS)
  t.equal(counted(third.requests, 'PutItemCommand'), 0, 'not kept: the counters changed too recently for the top list\'s index to have caught up')
  const fourth = await read()
  t.equal(counted(fourth.requests, 'QueryCommand'), METRIC_SHARDS, 'so the next read reads the counters too')

  clock.now += SUMMARY_SETTLE_MS
  await read()
  const settled = await read()
  t.same(settled.requests, ['BatchGetItemCommand'], 'kept again once still')
  t.same(settled.figures.topAssets, third.figures.topAssets)
  t.equal(settled.figures.open.total, third.figures.open.total)

  // Any counted change moves its shard's count: a record removed, a status changed.
  await metrics.apply(tenant, 'r1', 2, null)
  t.equal((await read()).figures.open.total, third.figures.open.total - 1, 'a delete is read at once')
  clock.now += SUMMARY_SETTLE_MS
  await read()
  await metrics.apply(tenant, 'r2', 2, { ...facts(2), status: 'resolved', statusChangedAt: new Date(clock.now).toISOString() })
  const resolved = await read()
  t.equal(resolved.figures.open.total, third.figures.open.total - 2, 'a resolve is read at once')
  t.equal(resolved.figures.trend!.at(-1)!.resolved, third.figures.trend!.at(-1)!.resolved + 1, 'resolved today')
})

t.test('a summary is used on its day, for its window, and for a minute at most', async (t) => {
  const { clock, metrics, read } = await harness(t)
  for (let i = 0; i < 6; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i))
  clock.now += SUMMARY_SETTLE_MS
  const first = await read(30)
  t.same((await read(30)).requests, ['BatchGetItemCommand'])
  t.equal(counted((await read(90)).requests, 'QueryCommand'), METRIC_SHARDS, 'another window: its own summary')
  t.same((await read(90)).requests, ['BatchGetItemCommand'])

  clock.now += SUMMARY_MAX_AGE_MS
  t.equal(counted((await read(30)).requests, 'QueryCommand'), METRIC_SHARDS, 'a minute old: read again')

  // The next day: the window, the trend and what is overdue moved with it.
  clock.now = Date.parse('2026-11-21T00:00:05.000Z')
  const tomorrow = await read(30)
  t.equal(counted(tomorrow.requests, 'QueryCommand'), METRIC_SHARDS, 'another day: read again')
  t.equal(tomorrow.figures.window.to, '2026-11-21')
  t.not(tomorrow.figures.window.from, first.figures.window.from)
})

t.test('a change written between the summary\'s lookup and the counters\' read is kept under the counts before it: the next read reads the counters again', async (t) => {
  const { store, clock, metrics, read } = await harness(t)
  for (let i = 0; i < 6; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i))
  clock.now += SUMMARY_SETTLE_MS
  // Another applier counts a record right after this read looked the summary up.
  const racing: MetricsRepository = {
    ...metrics,
    async readSummary (...args) {
      const lookup = await metrics.readSummary(...args)
      await metrics.apply(tenant, 'r6', 1, facts(6))
      return lookup
    }
  }
  const raced = await read(30, racing)
  t.equal(raced.figures.open.total, 7, 'the change\'s counters were read')
  const { Item } = await store.documents.send(new GetCommand({ TableName: store.tableName, Key: metricKeys.summary(tenant, 30) }))
  t.equal(JSON.parse(Item!.figures).open.total, 7, 'and kept')
  t.equal(Item!.changes.reduce((sum: number, n: number) => sum + n, 0), 6, 'under the change counts read before the change')
  const after = await read()
  t.equal(counted(after.requests, 'QueryCommand'), METRIC_SHARDS, 'not used: a shard\'s count moved since')
  t.equal(after.figures.open.total, 7)
})

t.test('a reset rewrites the counters: no summary kept before it is used after it', async (t) => {
  const { clock, metrics, read } = await harness(t)
  for (let i = 0; i < 6; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i))
  clock.now += SUMMARY_SETTLE_MS
  await read()
  t.same((await read()).requests, ['BatchGetItemCommand'])
  await metrics.reset(tenant, [{ id: 'r0', version: 1, facts: facts(0) }, { id: 'r1', version: 1, facts: facts(1) }])
  t.equal((await read()).figures.open.total, 2)
})

t.test('an asset\'s figures are one read, never kept; a summary\'s item holds the change counts it was read at', async (t) => {
  const { store, clock, metrics, read } = await harness(t)
  for (let i = 0; i < 6; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i))
  clock.now += SUMMARY_SETTLE_MS
  const before = store.commands.length
  const asset = await readMetrics(metrics, tenant, { windowDays: 30, asset: 'asset-1' }, new Date(clock.now))
  t.equal(asset.open.total, 2)
  t.same(store.commands.slice(before).map((command) => command.name), ['BatchGetItemCommand'])
  await read()
  const { Item } = await store.documents.send(new GetCommand({ TableName: store.tableName, Key: metricKeys.summary(tenant, 30) }))
  const shardChanges = await Promise.all(Array.from({ length: METRIC_SHARDS }, async (_, shard) =>
    (await store.documents.send(new GetCommand({ TableName: store.tableName, Key: metricKeys.changes(tenant, shard) }))).Item?.changes ?? 0))
  t.same(Item!.changes, shardChanges)
  t.equal(shardChanges.reduce((sum: number, n: number) => sum + n, 0), 6, 'one change counted per record')
  t.equal(Item!.day, '2026-11-20')
})

t.test('a place the rebuild rewrites counts a change: the summary kept with the wrong place is not used after it', async (t) => {
  const { store, clock, metrics, read } = await harness(t)
  for (let i = 0; i < 6; i++) await metrics.apply(tenant, `r${i}`, 1, facts(i))
  // A place left behind its asset's count (its write lost).
  await store.documents.send(new PutCommand({ TableName: store.tableName, Item: { ...metricKeys.assetTop(tenant, 'asset-3'), tenant, asset: 'asset-3', open: 40, rev: 0, [metricIndexes.topAssets.pk]: metricPartitions.topAssets(tenant, 'asset-3'), [metricIndexes.topAssets.sk]: topAssetPosition(40, 'asset-3') } }))
  clock.now += SUMMARY_SETTLE_MS
  t.same((await read()).figures.topAssets![0], { name: 'asset-3', open: 40 }, 'kept with the wrong place')
  await metrics.rewritePlace(tenant, 'asset-3')
  t.same((await read()).figures.topAssets!.find((asset) => asset.name === 'asset-3'), { name: 'asset-3', open: 1 }, 'read again after the repair')
})
