import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { v7 as uuidv7 } from 'uuid'
import { reshardIndexes } from '../../jobs/reshard-indexes/index.ts'
import type { RecordChange } from '../../shared/records/change.ts'
import { buildNewRecord } from '../../shared/records/model.ts'
import type { SecurityRecord } from '../../shared/records/schema.ts'
import { readRecordedLayout, writeIndexLayout } from '../../shared/store/index-layout.ts'
import { DEFAULT_INDEX_SHARDS, indexes, partitions, shardOf, UNSHARDED } from '../../shared/store/keys.ts'
import { createRecordsRepository } from '../../shared/store/records-repository.ts'
import { ensureTable } from '../../shared/store/table.ts'
import { startTestStore, type TestStore } from '../support/store.ts'

const actor = { sub: 'client:seed', clientId: 'seed', tenant: 'acme' }
const base = Date.parse('2026-03-01T00:00:00.000Z')

async function seedRecords (store: TestStore, count: number): Promise<SecurityRecord[]> {
  const repository = createRecordsRepository(store)
  const records: SecurityRecord[] = []
  for (let i = 0; i < count; i++) {
    const now = new Date(base + i * 1000)
    const record = buildNewRecord({ title: `r${i}`, category: 'vulnerability', severity: i % 2 ? 'high' : 'low', status: i % 3 ? 'open' : 'triaged', asset: { name: 'api', type: 'service' } } as never, uuidv7({ msecs: now.getTime() }), { actor, now })
    const change: RecordChange = { version: 1, action: 'created', at: record.createdAt, actor: { type: 'client', id: actor.sub, clientId: actor.clientId }, requestId: 'seed', changes: [] }
    await repository.insert('acme', record, change)
    records.push(record)
  }
  return records
}

/** Every page of a list through a new repository (so it reads the layout as it is now). */
async function walk (store: TestStore, filters: Record<string, unknown>, limit = 7): Promise<string[]> {
  const repository = createRecordsRepository(store)
  const ids: string[] = []
  let after: string | undefined
  do {
    const page = await repository.list('acme', { order: 'desc', ...filters } as never, limit, after, new Date())
    ids.push(...page.items.map((record) => record.id))
    after = page.resumeAfter
  } while (after)
  return ids
}

const newestFirst = (records: SecurityRecord[], keep: (record: SecurityRecord) => boolean = () => true) => records.filter(keep).map((record) => record.id).reverse()

t.test('a new table records the default layout, and an existing table keeps the one it records', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  t.same((await readRecordedLayout(store)).layout, { shards: DEFAULT_INDEX_SHARDS, alsoRead: [] })
  const again = await ensureTable(store.client, store.tableName, { indexShards: 64 })
  t.same(again.layout, { shards: DEFAULT_INDEX_SHARDS, alsoRead: [] }, 'a table keeps the layout it records, whatever INDEX_SHARDS says')
})

t.test('a table of unsharded records: lists keep working, the job shards it, lists find every record at every step, and no list Scans', async (t) => {
  const store = await startTestStore()
  t.teardown(() => store.close())
  // A table from before sharding: its records carry today's keys.
  await writeIndexLayout(store, UNSHARDED, (await readRecordedLayout(store)).revision)
  const records = await seedRecords(store, 40)
  const legacy = createRecordsRepository(store)
  t.equal((await store.documents.send(new GetCommand({ TableName: store.tableName, Key: { pk: `T#acme#R#${records[0]!.id}`, sk: 'RECORD' } }))).Item?.[indexes.byTenant.pk], partitions.byTenant('acme'))
  t.same((await legacy.list('acme', { order: 'desc' }, 100, undefined, new Date())).items.map((record) => record.id), newestFirst(records))

  // Mid-migration: the new layout is recorded, the old one still read; a record written now is sharded.
  const { revision } = await readRecordedLayout(store)
  await writeIndexLayout(store, { shards: 4, alsoRead: [1] }, revision)
  const later = await seedRecords(store, 5)
  const all = [...records, ...later].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1))
  t.same(await walk(store, {}), newestFirst(all), 'both layouts are merged in order')

  store.commands.length = 0
  const outcome = await reshardIndexes(store, 4, { settleMs: 0 })
  t.same(outcome.to, { shards: 4, alsoRead: [] })
  t.equal(outcome.rewritten, 40, 'every unsharded record was rewritten, the sharded ones left alone')
  t.ok(store.commands.some((command) => command.name === 'ScanCommand'), 'the job scans (it must find every tenant)')

  for (const record of records) {
    const { Item } = await store.documents.send(new GetCommand({ TableName: store.tableName, Key: { pk: `T#acme#R#${record.id}`, sk: 'RECORD' } }))
    t.equal(Item?.[indexes.byStatus.pk], partitions.byStatus('acme', record.status, shardOf(record.id, 4)))
  }
  store.commands.length = 0
  t.same(await walk(store, {}), newestFirst(all), 'after the job: every record, in order')
  t.same(await walk(store, { status: ['open'] }, 3), newestFirst(all, (record) => record.status === 'open'))
  t.same(await walk(store, { severity: ['high', 'low'], category: 'vulnerability' }, 4), newestFirst(all))
  t.same(await walk(store, { asset: 'api', status: ['triaged'] }, 2), newestFirst(all, (record) => record.status === 'triaged'))
  t.ok(store.commands.length > 0 && store.commands.every((command) => command.name === 'QueryCommand' || command.name === 'GetItemCommand'), 'lists Query (and read the layout), never Scan')

  const second = await reshardIndexes(store, 4, { settleMs: 0 })
  t.same(second, { from: { shards: 4, alsoRead: [] }, to: { shards: 4, alsoRead: [] }, rewritten: 0, passes: 0 }, 'running it again changes nothing')
})
