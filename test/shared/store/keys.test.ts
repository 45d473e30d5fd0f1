import fc from 'fast-check'
import t from 'tap'
import {
  fingerprintKey, historyKey, historySortKey, idempotencyKey, indexes, internalAttributes, listPosition, outboxAttributes,
  outboxPartitions, partitions, recordIndexAttributes, recordKey, shardOf, shardsToRead, UNSHARDED
} from '../../../shared/store/keys.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'

const tenantName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)

t.test('every tenant-owned key starts with its tenant, so no key of one tenant can name another\'s item', async () => {
  fc.assert(fc.property(tenantName, tenantName, fc.string(), (a, b, value) => {
    fc.pre(a !== b)
    const keysOfA = [
      recordKey(a, value).pk, historyKey(a, value, 1).pk, fingerprintKey(a, value).pk, idempotencyKey(a, 'client', value).pk,
      partitions.byTenant(a), partitions.byStatus(a, value), partitions.bySeverity(a, value), partitions.byAsset(a, value), partitions.byCategory(a, value),
      ...[{ index: 0, of: 16 }, { index: 15, of: 16 }].flatMap((shard) => [
        partitions.byTenant(a, shard), partitions.byStatus(a, value, shard), partitions.bySeverity(a, value, shard), partitions.byAsset(a, value, shard), partitions.byCategory(a, value, shard)
      ])
    ]
    return keysOfA.every((key) => key.startsWith(`T#${a}`) && !key.startsWith(`T#${b}#`) && key !== `T#${b}`)
  }))
})

t.test('a value chosen by a client cannot forge another partition of the same tenant', async (t) => {
  t.not(partitions.byAsset('acme', 'x#STATUS#open'), partitions.byStatus('acme', 'open'))
  t.not(recordKey('acme', 'x').pk, fingerprintKey('acme', 'x').pk, 'fingerprints are hashed into their key')
  t.not(partitions.byAsset('acme', '@1/2#x'), partitions.byAsset('acme', 'x', { index: 1, of: 2 }), 'a value cannot forge a shard')
  t.not(partitions.byAsset('acme', 'x#@1/2'), partitions.byAsset('acme', 'x', { index: 1, of: 2 }))
})

t.test('index shards: one shard of one is the unsharded key, and layouts with different counts never share a partition', async (t) => {
  t.equal(partitions.byTenant('acme', { index: 0, of: 1 }), partitions.byTenant('acme'))
  t.equal(partitions.byStatus('acme', 'open', { index: 0, of: 1 }), 'T#acme#STATUS#open', 'the key tables made before sharding hold')
  const keys = new Set<string>()
  for (const count of [1, 2, 8, 16]) for (let index = 0; index < count; index++) keys.add(partitions.byStatus('acme', 'open', { index, of: count }))
  t.equal(keys.size, 1 + 2 + 8 + 16)
})

t.test('a record stays in one shard for life: the shard is a stable hash of its id alone', async (t) => {
  fc.assert(fc.property(fc.uuid(), fc.integer({ min: 1, max: 256 }), (id, shards) => {
    const shard = shardOf(id, shards)
    return shard.index >= 0 && shard.index < shards && shard.of === shards && shardOf(id, shards).index === shard.index
  }))
  const record = { id: 'r1', createdAt: '2026-01-01T00:00:00.000Z', status: 'open', severity: 'high', category: 'other', asset: { name: 'api' } } as SecurityRecord
  const layout = { shards: 16, alsoRead: [] }
  const opened = recordIndexAttributes('acme', record, layout)
  const resolved = recordIndexAttributes('acme', { ...record, status: 'resolved' }, layout)
  t.equal(opened[indexes.byTenant.pk], resolved[indexes.byTenant.pk], 'a status change keeps the tenant shard')
  t.equal(resolved[indexes.byStatus.pk], partitions.byStatus('acme', 'resolved', shardOf('r1', 16)), 'and moves to the same shard of the new status')
  t.same(recordIndexAttributes('acme', record, UNSHARDED)[indexes.byTenant.pk], 'T#acme')
})

t.test('reads cover every shard of the layout and of the layouts it still reads', async (t) => {
  t.same(shardsToRead(UNSHARDED), [{ index: 0, of: 1 }])
  t.same(shardsToRead({ shards: 4, alsoRead: [1] }).map((shard) => `${shard.index}/${shard.of}`), ['0/4', '1/4', '2/4', '3/4', '0/1'])
  t.equal(shardsToRead({ shards: 4, alsoRead: [4] }).length, 4, 'a count is read once')
})

t.test('history sort keys order by version as strings do, and share the record\'s partition', async (t) => {
  const versions = [1, 2, 9, 10, 99, 100, 12345]
  const keys = versions.map(historySortKey)
  t.same([...keys].sort(), keys)
  t.equal(historyKey('acme', 'r1', 3).pk, recordKey('acme', 'r1').pk)
})

t.test('list positions are unique per record and sort by creation time, then id', async (t) => {
  const a = listPosition({ createdAt: '2026-01-01T00:00:00.000Z', id: 'b' })
  const b = listPosition({ createdAt: '2026-01-01T00:00:00.000Z', id: 'c' })
  const c = listPosition({ createdAt: '2026-01-02T00:00:00.000Z', id: 'a' })
  t.ok(a < b && b < c)
})

t.test('a record item carries one partition per index, and none of it reaches a client', async (t) => {
  const record = { id: 'r1', createdAt: '2026-01-01T00:00:00.000Z', status: 'open', severity: 'high', category: 'other', asset: { name: 'api' } } as SecurityRecord
  const attributes = recordIndexAttributes('acme', record, { shards: 16, alsoRead: [] })
  for (const index of Object.values(indexes).filter((index) => index !== indexes.outbox)) {
    t.ok(index.pk in attributes && index.sk in attributes, `${index.name} is set`)
  }
  for (const attribute of [...Object.keys(attributes), 'pk', 'sk', 'tenant']) t.ok(internalAttributes.includes(attribute), `${attribute} is internal`)
})

t.test('outbox entries spread over the outbox partitions by a stable hash', async (t) => {
  const used = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const attributes = outboxAttributes('acme', `r${i}`, '2026-01-01T00:00:00.000Z')
    t.equal(attributes[indexes.outbox.pk], outboxAttributes('acme', `r${i}`, '2026-02-01T00:00:00.000Z')[indexes.outbox.pk], 'same record, same partition')
    used.add(attributes[indexes.outbox.pk]!)
  }
  t.same([...used].sort(), [...outboxPartitions].sort(), 'every partition takes entries')
})
