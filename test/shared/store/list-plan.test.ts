import t from 'tap'
import type { ListFilters } from '../../../shared/records/list-filters.ts'
import { indexes, partitions, UNSHARDED } from '../../../shared/store/keys.ts'
import { FILTERED_READ_BUDGET, planListQuery } from '../../../shared/store/list-plan.ts'

const now = new Date('2026-06-01T00:00:00.000Z')
const plan = (filters: Partial<ListFilters>, layout = UNSHARDED) => planListQuery('acme', { order: 'desc', ...filters }, now, layout)

t.test('no filter: one Query on the tenant partition, reading one more than a page', async (t) => {
  const { partitions: queries, readBudget } = plan({})
  t.same(queries, [{ index: indexes.byTenant, value: partitions.byTenant('acme') }])
  t.same(readBudget(25), { first: 26, most: 26 })
})

t.test('the most selective indexed filter picks the index: asset, then status, severity, category', async (t) => {
  t.equal(plan({ asset: 'api', status: ['open'], severity: ['high'], category: 'other' }).partitions[0]!.index, indexes.byAsset)
  t.equal(plan({ status: ['open'], severity: ['high'], category: 'other' }).partitions[0]!.index, indexes.byStatus)
  t.equal(plan({ severity: ['high'], category: 'other' }).partitions[0]!.index, indexes.bySeverity)
  t.equal(plan({ category: 'other' }).partitions[0]!.index, indexes.byCategory)
})

t.test('several values of a filter query one partition each; the other filters narrow every Query', async (t) => {
  const { partitions: queries, readBudget } = plan({ status: ['open', 'triaged'], severity: ['high'], tag: 'pci' })
  t.same(queries.map((query) => query.value), [partitions.byStatus('acme', 'open'), partitions.byStatus('acme', 'triaged')])
  for (const query of queries) {
    t.equal(query.filter?.expression, '#severity IN (:severity0) AND contains(#tags, :tag)')
    t.same(query.filter?.values, { ':severity0': 'high', ':tag': 'pci' })
  }
  t.same(readBudget(25), { first: FILTERED_READ_BUDGET, most: FILTERED_READ_BUDGET }, 'a filtered Query reads a bounded number of items per page')
})

t.test('overdue means an active status past its dueAt: it narrows the statuses and compares dueAt with now', async (t) => {
  const { partitions: queries } = plan({ overdue: true })
  t.same(queries.map((query) => query.value), ['open', 'triaged', 'in_progress'].map((status) => partitions.byStatus('acme', status)))
  t.match(queries[0]!.filter, { expression: '#dueAt < :now', values: { ':now': now.toISOString() } })
  t.same(plan({ overdue: true, status: ['resolved', 'open'] }).partitions.map((query) => query.value), [partitions.byStatus('acme', 'open')], 'resolved cannot be overdue')
  t.same(plan({ overdue: true, status: ['resolved'] }).partitions, [], 'nothing to query: an empty page without touching the store')
})

t.test('every plan, whatever the filters, is Queries on one index of the tenant (never a Scan)', async (t) => {
  const samples: Array<Partial<ListFilters>> = [{}, { asset: 'x' }, { status: ['open'] }, { severity: ['low', 'info'] }, { category: 'malware' }, { tag: 'a', vulnerabilityId: 'CVE-2024-3094' }, { overdue: true, asset: 'y' }]
  for (const filters of samples) {
    const { partitions: queries } = plan(filters)
    t.ok(queries.every((query) => query.value.startsWith('T#acme') && query.index === queries[0]!.index), JSON.stringify(filters))
  }
})

t.test('a sharded layout queries every shard of every value, and of the layouts still read', async (t) => {
  const sharded = { shards: 4, alsoRead: [] }
  const { partitions: queries } = plan({ status: ['open', 'triaged'] }, sharded)
  t.same(queries.map((query) => query.value), ['open', 'triaged'].flatMap((status) => [0, 1, 2, 3].map((index) => partitions.byStatus('acme', status, { index, of: 4 }))))
  t.equal(plan({}, { shards: 4, alsoRead: [1] }).partitions.length, 5, 'unsharded items not yet rewritten are read too')
  t.ok(plan({}, { shards: 4, alsoRead: [1] }).partitions.some((query) => query.value === partitions.byTenant('acme')))
})

t.test('sharded reads: each shard first reads its share of a page with slack, never more than a page; a filter\'s budget is split', async (t) => {
  const sharded = { shards: 16, alsoRead: [] }
  t.same(plan({}, sharded).readBudget(25), { first: 4, most: 26 }, 'ceil(1.5 × 26 / 16) + 1')
  t.same(plan({}, { shards: 2, alsoRead: [] }).readBudget(25), { first: 21, most: 26 })
  t.same(plan({ tag: 'pci' }, sharded).readBudget(25), { first: 13, most: 13 }, 'the filtered budget over 16 shards')
})

t.test('overdue with only closed statuses reads nothing, whatever index the other filters pick (an asset filter made `#status IN ()`, a 500; found by schemathesis)', async (t) => {
  for (const filters of [{ asset: 'shop' }, {}, { severity: ['high' as const] }]) {
    t.same(plan({ ...filters, overdue: true, status: ['not_affected', 'duplicate'] }).partitions, [], JSON.stringify(filters))
  }
  t.ok(plan({ asset: 'shop', overdue: true, status: ['open'] }).partitions.length > 0, 'control: an active status is read')
})
