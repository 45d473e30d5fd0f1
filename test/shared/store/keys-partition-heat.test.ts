import { createHash } from 'node:crypto'
import t from 'tap'
import { v7 as uuidv7 } from 'uuid'
import type { RecordChange } from '../../../shared/records/change.ts'
import { buildNewRecord } from '../../../shared/records/model.ts'
import type { SecurityRecord } from '../../../shared/records/schema.ts'
import { DEFAULT_INDEX_SHARDS, indexShardsFor, PARTITION_LIMITS, recordIndexes, shardOf, UNSHARDED, type IndexLayout } from '../../../shared/store/keys.ts'
import { readRecordedLayout, writeIndexLayout } from '../../../shared/store/index-layout.ts'
import { createRecordsRepository } from '../../../shared/store/records-repository.ts'
import { startTestStore } from '../../support/store.ts'

/** One tenant's load: the big tenant writes 1 000 records a second. */
const TENANT_WRITES_PER_SECOND = 1000
const WRITES = 1000
const actor = { sub: 'client:load', clientId: 'load', tenant: 'big' }

/** A scanner's findings: mostly open, most of them high or medium, all on one asset (an import). */
function finding (index: number, now: Date): SecurityRecord {
  const input = {
    title: `finding ${index}`,
    category: 'vulnerability',
    severity: index % 3 === 0 ? 'medium' : 'high',
    status: 'open',
    asset: { name: 'monorepo', type: 'repository' },
    vulnerabilityIds: [`CVE-2024-${1000 + (index % 9000)}`],
    tags: ['scanner']
  }
  return buildNewRecord(input as Parameters<typeof buildNewRecord>[0], uuidv7(), { actor, now })
}

/**
 * Runs a load of creates and status changes through the records repository against a real store
 * and records every write's index partition keys (from the items the SDK sent), with its size.
 */
async function loadRun (layout: IndexLayout) {
  const store = await startTestStore()
  t.teardown(() => store.close())
  await writeIndexLayout(store, layout, (await readRecordedLayout(store)).revision)
  const repository = createRecordsRepository(store)
  const created: SecurityRecord[] = []
  const now = Date.now()
  for (let batch = 0; batch < WRITES / 2; batch += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const record = finding(batch + i, new Date(now + batch + i))
      const change: RecordChange = { version: 1, action: 'created', at: record.createdAt, actor: { type: 'client', id: actor.sub, clientId: actor.clientId }, requestId: 'load', changes: [] }
      await repository.insert('big', record, change)
      created.push(record)
    }))
  }
  // The other half: triage, as a team works through an import (a status change moves partitions).
  for (let batch = 0; batch < created.length; batch += 50) {
    await Promise.all(created.slice(batch, batch + 50).map(async (record) => {
      const next = { ...record, status: 'triaged' as const, version: 2, updatedAt: new Date(now + 5000).toISOString() }
      await repository.replace('big', next, 1, { version: 2, action: 'updated', at: next.updatedAt, actor: { type: 'client', id: actor.sub, clientId: actor.clientId }, requestId: 'load', changes: [] })
    }))
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const writes = store.commands.filter((command) => /^Put(Item)?Command$/.test(command.name) && text((command.input.Item as Record<string, unknown>)?.tenant) === 'big')
  const perPartition = new Map<string, number>()
  let largestItemBytes = 0
  for (const { input } of writes) {
    const item = input.Item as Record<string, unknown>
    largestItemBytes = Math.max(largestItemBytes, Buffer.byteLength(JSON.stringify(item)))
    for (const index of recordIndexes) {
      const key = `${index.name} ${text(item[index.pk])}`
      perPartition.set(key, (perPartition.get(key) ?? 0) + 1)
    }
  }
  const [busiest, busiestWrites] = [...perPartition].sort((a, b) => b[1] - a[1])[0]!
  return { writes: writes.length, partitions: perPartition.size, busiest, share: busiestWrites / writes.length, largestItemBytes }
}

/** DynamoDB: a write to an index costs one write unit per started KB of the item. */
const writeUnits = (bytes: number) => Math.ceil(bytes / 1024)

t.test(`partition heat: at ${TENANT_WRITES_PER_SECOND} writes/s for one tenant, no index partition takes ${PARTITION_LIMITS.writeUnitsPerSecond} writes (or write units) a second`, async (t) => {
  const sharded = await loadRun({ shards: DEFAULT_INDEX_SHARDS, alsoRead: [] })
  t.equal(sharded.writes, WRITES, 'every create and update was recorded')
  const perSecond = sharded.share * TENANT_WRITES_PER_SECOND
  const unitsPerSecond = perSecond * writeUnits(sharded.largestItemBytes)
  t.comment(`${DEFAULT_INDEX_SHARDS} shards: busiest partition ${sharded.busiest} takes ${(sharded.share * 100).toFixed(1)} % of the writes: ${perSecond.toFixed(0)} writes/s, ${unitsPerSecond.toFixed(0)} write units/s (items up to ${sharded.largestItemBytes} B); ${sharded.partitions} partitions written`)
  t.ok(perSecond < PARTITION_LIMITS.writeUnitsPerSecond, `busiest partition ${perSecond.toFixed(0)} writes/s`)
  t.ok(unitsPerSecond < PARTITION_LIMITS.writeUnitsPerSecond, `busiest partition ${unitsPerSecond.toFixed(0)} write units/s`)

  // The same load on the unsharded layout: the test can fail, and does for today's keys.
  const unsharded = await loadRun(UNSHARDED)
  t.comment(`unsharded: busiest partition ${unsharded.busiest} takes ${(unsharded.share * 100).toFixed(1)} % of the writes`)
  t.equal(unsharded.share, 1, 'unsharded, the tenant partition takes every write')
  t.ok(unsharded.share * TENANT_WRITES_PER_SECOND >= PARTITION_LIMITS.writeUnitsPerSecond, 'which is the hot partition the shards remove')
})

t.test(`partition size: a 10 000 000-record tenant on the recommended shard count puts no more than ${PARTITION_LIMITS.rows} rows in any partition`, async (t) => {
  const tenantRecords = 10_000_000
  const shards = indexShardsFor({ tenantRecords, writesPerSecond: TENANT_WRITES_PER_SECOND, writeUnitsPerWrite: 2 })
  t.equal(shards, 128)
  // The worst case for every index: all records share one status, severity, category and asset,
  // so each index partition's rows are one shard's records. The shard comes from the key function
  // (shardOf) for 200 000 UUIDv7 ids spread over a year; the busiest shard's share, scaled up.
  const sampled = 200_000
  const counts = new Uint32Array(shards)
  const start = Date.parse('2026-01-01T00:00:00.000Z')
  for (let i = 0; i < sampled; i++) {
    const random = createHash('sha1').update(String(i)).digest().subarray(0, 16)
    counts[shardOf(uuidv7({ msecs: start + i * 157_680, random }), shards).index]! += 1
  }
  const busiestShare = Math.max(...counts) / sampled
  const rows = Math.ceil(busiestShare * tenantRecords)
  t.comment(`${shards} shards: the busiest holds ${(busiestShare * 100).toFixed(3)} % of the tenant: ${rows} rows (even: ${tenantRecords / shards})`)
  t.ok(rows <= PARTITION_LIMITS.rows, `${rows} rows in the busiest partition`)
  const unshardedRows = tenantRecords
  t.ok(unshardedRows > PARTITION_LIMITS.rows, 'unsharded, one partition would hold the whole tenant')
  t.ok(tenantRecords / DEFAULT_INDEX_SHARDS > PARTITION_LIMITS.rows, `the default ${DEFAULT_INDEX_SHARDS} shards are not enough for such a tenant: the table setting is sized to the biggest tenant`)
})
