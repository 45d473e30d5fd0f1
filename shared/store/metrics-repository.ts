import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { blockOf, blocksBetween, byItem, contributionDelta, counterAttributes as attributeOf, dayOf, DUE_BLOCK_DAYS, endsBefore, pastDueCounters, recount, REMEDIATION_BLOCK_DAYS, retentionHorizon, splitIntoBlocks, TREND_BLOCK_DAYS, trendFigures, type CounterItem, type RecordFacts } from '../metrics/counters.ts'
import type { CounterValues } from '../metrics/summary.ts'
import { MetricsContendedError } from '../errors.ts'
import { batchDelete, batchGet, batchPut, GET_KEYS_PER_REQUEST } from './batch.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { METRIC_SHARDS, metricIndexes, RETIRED_METRIC_SHARDS, metricKeys, metricPartitions, metricShardOf, tombstonePosition, topAssetPosition, ttlAttribute, type ItemKey } from './keys.ts'
import { storeCall, writesUnlessConditionFails } from './store-errors.ts'

/**
 * A counter change still being applied: written into the record's metrics item in the same
 * conditional write that moves its version, then applied item by item. `op` marks each counter
 * item it has reached (a string set), so an update applied twice adds once.
 */
interface PendingCounters {
  op: string
  owner: string
  leaseUntil: number
  updates: Array<{ key: ItemKey, asset?: string, adds: Record<string, number> }>
}

interface RecordMetricsItem {
  version: number
  facts: RecordFacts | null
  pending?: PendingCounters
  /** A tombstone's (facts null): when the record was counted deleted. */
  deletedAt?: string
}

/** An asset whose place in the top list does not show its item's open count: `placed` null when it has no place. */
export interface PlaceDrift { asset: string, open: number, placed: number | null }

export type ApplyOutcome = 'applied' | 'stale'

/**
 * A summary's lookup: the figures kept, when they still hold; otherwise the shards' change counts
 * now, which the figures read next are kept under, and whether the counters have been still long
 * enough to keep them (`settled`).
 */
export type SummaryLookup = { kept: string } | { kept: undefined, changes: number[], settled: boolean }

export interface MetricsRepository {
  /**
   * Counts a record at `version` with `facts` (null: deleted), exactly once in effect: a version
   * at or below the one counted changes nothing (a redelivery, or an event overtaken by a newer
   * one); a higher one moves the record's contribution from what it counted to `facts`.
   * Throws MetricsContendedError when another applier holds the record's counters past the wait.
   */
  apply (tenant: string, recordId: string, version: number, facts: RecordFacts | null): Promise<ApplyOutcome>
  /**
   * Every shard's counts, summed, with the due days of the due block holding `today` (one
   * BatchGetItem). With `asset`: that asset's counts (one read). The counts (or asset) items read
   * get their due counters over before `today` folded into the overdue counters (`foldPastDue`),
   * so what the next read returns is a due counter per severity and block still ahead.
   */
  readCounts (tenant: string, today: string, asset?: string): Promise<CounterValues>
  /**
   * The remediation figures of the days from `fromDay` to `toDay`, every shard and day summed:
   * the remediation blocks wholly inside them and the days at their edges, by key (a BatchGetItem
   * of at most 100 keys for every few shards, side by side).
   */
  readWindow (tenant: string, fromDay: string, toDay: string): Promise<CounterValues>
  /** Opened and resolved per day from `fromDay` to `toDay`, every shard summed: the trend blocks holding them, by key. */
  readTrend (tenant: string, fromDay: string, toDay: string): Promise<Map<string, { opened: number, resolved: number }>>
  /** The `limit` assets with the most active records (one Query per shard, of the small place items). */
  topAssets (tenant: string, limit: number): Promise<Array<{ name: string, open: number }>>
  /**
   * Rewrites every counter item of the tenant, and what each record counts under, from `live`
   * (the tenant's records now): the layout's or the counting rule's change applied to counters
   * written before it. Not safe beside deliveries: run it with the tenant's deliveries paused.
   */
  reset (tenant: string, live: ReadonlyArray<{ id: string, version: number, facts: RecordFacts }>): Promise<{ written: number, removed: number }>
  /**
   * The tenant's figures of `windowDays` as kept by `keepSummary`, when they still hold: kept on
   * `today` less than SUMMARY_MAX_AGE_MS ago, and no shard's change count moved since (one
   * BatchGetItem of the summary and the shards' change counts).
   */
  readSummary (tenant: string, windowDays: number, today: string): Promise<SummaryLookup>
  /**
   * Keeps `figures` (read after `lookup`, from counters at least as new as its change counts) as
   * the summary of `windowDays` on `today`; nothing when the counters were not settled.
   */
  keepSummary (tenant: string, windowDays: number, today: string, lookup: Extract<SummaryLookup, { kept: undefined }>, figures: string): Promise<void>
  /** The records counted now with their version (the rebuild compares them with the records). */
  countedRecords (tenant: string): AsyncGenerator<{ id: string, version: number }>
  /** Every counter item of the tenant, its shards summed, by `counterItemId` (the rebuild's "actual"). */
  allCounters (tenant: string): Promise<Map<string, CounterValues>>
  /**
   * Removes the tombstones (the items of records counted deleted) counted deleted before
   * `before`, each only while it is still the same tombstone; a change left pending on one by an
   * applier whose lease ran out is finished first. Returns how many went.
   */
  pruneTombstones (tenant: string, before: Date): Promise<number>
  /** Removes the day, remediation, due and trend items whose days all lie before `horizon` (`retentionHorizon`); returns how many went. */
  pruneCounterItems (tenant: string, horizon: string): Promise<number>
  /** Of `assets` and the assets placed in the top list: those whose place does not show their item's open count, or that have no place. */
  placeDrift (tenant: string, assets: Iterable<string>): Promise<PlaceDrift[]>
  /**
   * Writes an asset's place from its item as it is now (only over an older count, as every place
   * write), and counts a change: a summary kept with the place before no longer holds.
   */
  rewritePlace (tenant: string, asset: string): Promise<void>
}

/**
 * How long a tombstone stays after its record was counted deleted: it keeps an older event of the
 * record that arrives later from counting the record again, so it must outlive every redelivery.
 * The record-metrics Trigger retries 5 times over about half a minute, then dead-letters (logged,
 * never replayed); the broker's default is 3 retries; the Kafka broker keeps an accepted event at
 * most its topic's retention (Kafka's default: 7 days); the outbox sweeper redelivers what the
 * broker refused every 5 minutes, oldest first, for as long as it refuses (an outage someone
 * sees). Five weeks is far past all of these, and an event later still is counted as a record
 * that is gone, which the next daily rebuild uncounts again.
 */
export const TOMBSTONE_RETENTION_DAYS = 35

/** How long an applier owns a pending change before another may finish it (a process that died). */
export const PENDING_LEASE_MS = 60_000
/** How long an applier waits for another's pending change on the same record before giving up (503, redelivered). */
const CONTENDED_WAIT_MS = 3000
/**
 * How long a tenant's counters must have been still before its figures are kept as a summary: the
 * top list is read from a global secondary index, which DynamoDB updates asynchronously (no read
 * of it is consistent), so figures read right after a change may miss its place. Far past that lag.
 */
export const SUMMARY_SETTLE_MS = 10_000
/**
 * How long a summary is used at most, whatever the change counts say: what a change count cannot
 * see (a writer of an older release during a rollout, a store replica behind) is read again by then.
 */
export const SUMMARY_MAX_AGE_MS = 60_000


const countersOf = (item: Record<string, unknown>): CounterValues =>
  Object.fromEntries(Object.entries(item).filter(([name, value]) => name.includes('|') || name === 'open' ? typeof value === 'number' : false)) as CounterValues

function addInto (total: CounterValues, values: CounterValues): void {
  for (const [name, n] of Object.entries(values)) total[name] = (total[name] ?? 0) + n
}

/** How many past due days one conditional update folds (its expressions stay far below DynamoDB's 4 KB). */
const FOLD_CHUNK = 40

/** The key of a counter item of a record's shard. */
export function counterKey (tenant: string, shard: number, item: CounterItem): ItemKey {
  switch (item.kind) {
    case 'counts': return metricKeys.counts(tenant, shard)
    case 'day': return metricKeys.day(tenant, shard, item.day)
    case 'remediation': return metricKeys.remediation(tenant, shard, item.block)
    case 'due': return metricKeys.due(tenant, shard, item.block)
    case 'trend': return metricKeys.trend(tenant, shard, item.block)
    case 'asset': return metricKeys.asset(tenant, item.asset)
  }
}

/**
 * A counter item's name in `allCounters`, whatever its shard: `COUNTS`, `DAY#<day>`,
 * `REM#<block>`, `DUE#<block>`, `TREND#<block>` (the sort keys of the shard's items), `ASSET#<name>`.
 */
export function counterItemId (item: CounterItem): string {
  if (item.kind === 'asset') return `ASSET#${item.asset}`
  return counterKey('', 0, item).sk
}

/**
 * What marks a record's item as a tombstone counted deleted at `deletedAt`: its entry in the
 * tombstone index, and a TTL past the retention as a hint to stores that expire items (the
 * rebuild job's conditional delete is what removes it; nothing relies on the TTL).
 */
function tombstoneAttributes (tenant: string, recordId: string, deletedAt: string): Record<string, unknown> {
  return {
    deletedAt,
    [metricIndexes.tombstones.pk]: metricPartitions.tombstones(tenant, recordId),
    [metricIndexes.tombstones.sk]: tombstonePosition(deletedAt, recordId),
    [ttlAttribute]: Math.floor(Date.parse(deletedAt) / 1000) + TOMBSTONE_RETENTION_DAYS * 86_400
  }
}

/**
 * The counter item a counter item id names (the inverse of `counterItemId`), or undefined for
 * an id of no counter item of this layout.
 */
export function counterItemOfId (id: string): CounterItem | undefined {
  if (id === 'COUNTS') return { kind: 'counts' }
  if (id.startsWith('ASSET#')) return { kind: 'asset', asset: id.slice('ASSET#'.length) }
  const [prefix, day] = [id.slice(0, id.indexOf('#') + 1), id.slice(id.indexOf('#') + 1)]
  if (prefix === metricKeys.dayPrefix) return { kind: 'day', day }
  if (prefix === metricKeys.remediationPrefix) return { kind: 'remediation', block: day }
  if (prefix === metricKeys.duePrefix) return { kind: 'due', block: day }
  if (prefix === metricKeys.trendPrefix) return { kind: 'trend', block: day }
  return undefined
}

/** Whether a counter item id names an item no read asks for on `today` (pruned, and left out of the drift). */
export function isPastRetention (id: string, today: string): boolean {
  const item = counterItemOfId(id)
  return item !== undefined && endsBefore(item, retentionHorizon(today))
}

/** An asset's place item in the top list. */
function assetPlace (tenant: string, asset: string, open: number, rev: number): Record<string, unknown> {
  return { ...metricKeys.assetTop(tenant, asset), tenant, asset, open, rev, [metricIndexes.topAssets.pk]: metricPartitions.topAssets(tenant, asset), [metricIndexes.topAssets.sk]: topAssetPosition(open, asset) }
}

/** `now`: the clock leases are measured by. */
export function createMetricsRepository (store: Store, { now = () => Date.now() }: { now?: () => number } = {}): MetricsRepository {
  const { documents, tableName } = store

  async function readRecordItem (tenant: string, recordId: string): Promise<RecordMetricsItem | undefined> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: metricKeys.record(tenant, recordId), ConsistentRead: true })))
    return Item as RecordMetricsItem | undefined
  }

  /**
   * Adds one update to its counter item, unless the op reached it before. An asset's item also
   * counts its changes (`rev`), and its place in the top list follows.
   */
  async function applyUpdate (tenant: string, op: string, update: PendingCounters['updates'][number]): Promise<void> {
    const names = Object.keys(update.adds)
    const adds = names.map((_, i) => `#c${i} :c${i}`).join(', ')
    const isAsset = update.asset !== undefined
    let updated: Record<string, unknown> | undefined
    const written = await writesUnlessConditionFails(async () => {
      updated = (await documents.send(new UpdateCommand({
        TableName: tableName,
        Key: update.key,
        ...expressions({
          UpdateExpression: `ADD ${adds}, #ops :opSet${isAsset ? ', #rev :one SET #tenant = :tenant, #asset = :asset' : ' SET #tenant = :tenant'}`,
          // Once per op: a counter item records the ops that reached it until their change is done.
          ConditionExpression: 'NOT contains(#ops, :op)'
        }, {
          ...Object.fromEntries(names.map((name, i) => [`c${i}`, update.adds[name]])),
          opSet: new Set([op]), op, tenant,
          ...(isAsset ? { one: 1, asset: update.asset } : {})
        }, Object.fromEntries(names.map((name, i) => [`c${i}`, name]))),
        ReturnValues: isAsset ? 'ALL_NEW' : 'NONE'
      }))).Attributes
    })
    if (!isAsset) return
    // Reached before (a redelivery finishing the change): the place may not have followed, so it is written from the item as it is.
    if (!written) await placeFromItem(tenant, update.asset!)
    else if (updated) await placeAsset(tenant, update.asset!, updated)
  }

  /** The asset's place written from its item as it is now (read consistently). */
  async function placeFromItem (tenant: string, asset: string): Promise<void> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({ TableName: tableName, Key: metricKeys.asset(tenant, asset), ConsistentRead: true })))
    if (Item) await placeAsset(tenant, asset, Item)
  }

  /**
   * The asset's place in the top list follows its open count, on an item of its own (the name
   * and the count: the list's Query reads nothing else). Written with the asset item's change
   * count as the condition: of two writers, the later count wins.
   */
  async function placeAsset (tenant: string, asset: string, item: Record<string, unknown>): Promise<void> {
    const open = typeof item.open === 'number' ? item.open : 0
    const rev = typeof item.rev === 'number' ? item.rev : 0
    await writesUnlessConditionFails(() => documents.send(new PutCommand({
      TableName: tableName,
      Item: assetPlace(tenant, asset, open, rev),
      // Only over an older count.
      ...expressions({ ConditionExpression: 'attribute_not_exists(#rev) OR #rev < :rev' }, { rev })
    })))
  }

  /**
   * One change more on the shard: after every counter item of the change is written (a summary
   * kept at the count before no longer holds; counting a change twice only invalidates twice).
   */
  async function countChange (tenant: string, shard: number): Promise<void> {
    await storeCall(() => documents.send(new UpdateCommand({
      TableName: tableName,
      Key: metricKeys.changes(tenant, shard),
      ...expressions({ UpdateExpression: 'ADD #changes :one SET #changedAt = :at, #tenant = :tenant' }, { one: 1, at: now(), tenant })
    })))
  }

  /** Applies a pending change to every counter item and counts the change, then clears it and its marks. */
  async function finish (tenant: string, recordId: string, pending: PendingCounters): Promise<void> {
    await Promise.all(pending.updates.map((update) => applyUpdate(tenant, pending.op, update)))
    await countChange(tenant, metricShardOf(recordId))
    const cleared = await writesUnlessConditionFails(() => documents.send(new UpdateCommand({
      TableName: tableName,
      Key: metricKeys.record(tenant, recordId),
      ...expressions({
        UpdateExpression: 'REMOVE #pending',
        // Only this change: a newer one may have been written since.
        ConditionExpression: '#pending.#op = :op'
      }, { op: pending.op })
    })))
    // The marks may go once the change is cleared: nothing applies it again after that (a lease taken
    // over means its first owner stalled past PENDING_LEASE_MS, far beyond any store timeout).
    if (cleared) {
      await Promise.all(pending.updates.map((update) => storeCall(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: update.key,
        ...expressions({ UpdateExpression: 'DELETE #ops :opSet' }, { opSet: new Set([pending.op]) })
      })))))
    }
  }

  /** Takes over a pending change whose owner's lease ran out; false when someone else did. */
  async function takeOver (tenant: string, recordId: string, pending: PendingCounters, owner: string): Promise<boolean> {
    return await writesUnlessConditionFails(() => documents.send(new UpdateCommand({
      TableName: tableName,
      Key: metricKeys.record(tenant, recordId),
      ...expressions({
        UpdateExpression: 'SET #pending.#owner = :owner, #pending.#leaseUntil = :lease',
        // Only the abandoned change, and only once.
        ConditionExpression: '#pending.#op = :op AND #pending.#owner = :previous'
      }, { owner, lease: now() + PENDING_LEASE_MS, op: pending.op, previous: pending.owner })
    })))
  }

  /**
   * A delivery that failed half-way gives its lease up, so the redelivery finishes the change at
   * once; a process that died cannot, and its lease runs out instead. Best effort: the lease stands otherwise.
   */
  async function release (tenant: string, recordId: string, pending: PendingCounters): Promise<void> {
    await writesUnlessConditionFails(() => documents.send(new UpdateCommand({
      TableName: tableName,
      Key: metricKeys.record(tenant, recordId),
      ...expressions({
        UpdateExpression: 'SET #pending.#leaseUntil = :zero',
        // Only a lease this applier still holds.
        ConditionExpression: '#pending.#op = :op AND #pending.#owner = :owner'
      }, { zero: 0, op: pending.op, owner: pending.owner })
    }))).catch(() => {})
  }

  async function apply (tenant: string, recordId: string, version: number, facts: RecordFacts | null): Promise<ApplyOutcome> {
    const owner = randomUUID()
    const shard = metricShardOf(recordId)
    let waited = 0
    for (let attempt = 0; ; attempt++) {
      const current = await readRecordItem(tenant, recordId)
      if (current?.pending) {
        if (current.pending.leaseUntil > now()) {
          if (waited >= CONTENDED_WAIT_MS) throw new MetricsContendedError()
          const pause = Math.min(20 * 2 ** attempt, 200)
          await sleep(pause)
          waited += pause
          continue
        }
        if (await takeOver(tenant, recordId, current.pending, owner)) await finish(tenant, recordId, current.pending)
        continue
      }
      if (current && current.version >= version) return 'stale'
      const updates = byItem(contributionDelta(current?.facts, facts)).map(({ item, adds }) => ({
        key: counterKey(tenant, shard, item),
        ...(item.kind === 'asset' ? { asset: item.asset } : {}),
        adds
      }))
      const pending: PendingCounters = { op: `${recordId}/${version}`, owner, leaseUntil: now() + PENDING_LEASE_MS, updates }
      const written = await writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: {
          ...metricKeys.record(tenant, recordId),
          tenant,
          version,
          facts,
          ...(updates.length > 0 ? { pending } : {}),
          // Counted records are listed for the rebuild job; a deleted one is listed by when it was deleted (first), for pruning.
          ...(facts
            ? { [metricIndexes.countedRecords.pk]: metricPartitions.countedRecords(tenant, recordId), [metricIndexes.countedRecords.sk]: recordId }
            : tombstoneAttributes(tenant, recordId, current?.facts === null && current.deletedAt ? current.deletedAt : new Date(now()).toISOString()))
        },
        ...(current
          // Over the version read, with no change pending: one applier moves a record at a time.
          ? expressions({ ConditionExpression: '#version = :version AND attribute_not_exists(#pending)' }, { version: current.version })
          // The first count of a record: no other applier wrote one meanwhile.
          : { ConditionExpression: 'attribute_not_exists(pk)' })
      })))
      if (!written) continue
      if (updates.length > 0) await finish(tenant, recordId, pending).catch(async (error: unknown) => { await release(tenant, recordId, pending); throw error })
      return 'applied'
    }
  }

  /**
   * Folds the past due days of a counter item as read: each chunk in one update that adds their
   * sum to the severity's overdue counter and removes them, only over the values read (a counter
   * changed since is left for a later fold). The overdue figure is the same at every step, and
   * record changes keep adding to due days whether folded or not, so no count is lost or doubled.
   */
  async function foldPastDue (key: ItemKey, item: Record<string, unknown>, today: string): Promise<void> {
    const past = pastDueCounters(item, today)
    for (let start = 0; start < past.length; start += FOLD_CHUNK) {
      const chunk = past.slice(start, start + FOLD_CHUNK)
      const sums = new Map<string, number>()
      for (const { severity, n } of chunk) sums.set(severity, (sums.get(severity) ?? 0) + n)
      const overdue = [...sums.keys()]
      await writesUnlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: key,
        ...expressions({
          UpdateExpression: `ADD ${overdue.map((_, i) => `#o${i} :o${i}`).join(', ')} REMOVE ${chunk.map((_, i) => `#d${i}`).join(', ')}`,
          ConditionExpression: chunk.map((_, i) => `#d${i} = :d${i}`).join(' AND ')
        }, {
          ...Object.fromEntries(overdue.map((severity, i) => [`o${i}`, sums.get(severity)])),
          ...Object.fromEntries(chunk.map(({ n }, i) => [`d${i}`, n]))
        }, {
          ...Object.fromEntries(overdue.map((severity, i) => [`o${i}`, attributeOf.overdue(severity)])),
          ...Object.fromEntries(chunk.map(({ attribute }, i) => [`d${i}`, attribute]))
        })
      })))
    }
  }

  async function queryAll (input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = []
    let after: Record<string, unknown> | undefined
    do {
      const page = await storeCall(() => documents.send(new QueryCommand({ ...input, ...(after ? { ExclusiveStartKey: after } : {}) })))
      items.push(...(page.Items ?? []))
      after = page.LastEvaluatedKey
    } while (after)
    return items
  }

  const shards = Array.from({ length: METRIC_SHARDS }, (_, shard) => shard)

  /** Items by key, a BatchGetItem per 100 keys, side by side (a BatchGetItem costs the store less than a Query). */
  async function readByKeys (keys: readonly ItemKey[]): Promise<Array<Record<string, unknown>>> {
    const batches: ItemKey[][] = []
    for (let start = 0; start < keys.length; start += GET_KEYS_PER_REQUEST) batches.push(keys.slice(start, start + GET_KEYS_PER_REQUEST))
    return (await Promise.all(batches.map((batch) => batchGet(store, batch)))).flat()
  }

  /** The shards of the layout now, or with `retired` of the earlier layouts too: [shard, shard count]. */
  const partitions = (retired: boolean): Array<[number, number]> =>
    [METRIC_SHARDS, ...(retired ? RETIRED_METRIC_SHARDS : [])].flatMap((of) => Array.from({ length: of }, (_, shard): [number, number] => [shard, of]))

  /** The records counted now with their version, a shard at a time (`retired`: those listed under an earlier layout too). */
  async function * countedRecords (tenant: string, retired = false): AsyncGenerator<{ id: string, version: number }> {
    for (const [shard, of] of partitions(retired)) {
      let after: Record<string, unknown> | undefined
      do {
        const page = await storeCall(() => documents.send(new QueryCommand({
          TableName: tableName,
          IndexName: metricIndexes.countedRecords.name,
          ...expressions({ KeyConditionExpression: '#pk = :pk' }, { pk: metricPartitions.countedRecordsShard(tenant, shard, of) }, { pk: metricIndexes.countedRecords.pk }),
          ...(after ? { ExclusiveStartKey: after } : {})
        })))
        for (const item of page.Items ?? []) yield { id: String(item[metricIndexes.countedRecords.sk]), version: Number(item.version) }
        after = page.LastEvaluatedKey
      } while (after)
    }
  }

  /**
   * Every asset the tenant counts, found through the top list's index (every asset has a place in
   * it, whatever its count; `retired`: in an earlier layout's partitions too).
   */
  async function assetNames (tenant: string, retired = false): Promise<string[]> {
    const places = await Promise.all(partitions(retired).map(([shard, of]) => queryAll({
      TableName: tableName,
      IndexName: metricIndexes.topAssets.name,
      ...expressions({ KeyConditionExpression: '#pk = :pk', ProjectionExpression: '#asset' }, { pk: metricPartitions.topAssetsShard(tenant, shard, of) }, { pk: metricIndexes.topAssets.pk })
    })))
    return [...new Set(places.flat().map((item) => String(item.asset)))]
  }

  /** The keys of every counter item of the tenant, in this layout and the earlier ones: its shards' items, its assets' items and places. */
  async function counterItemKeys (tenant: string): Promise<ItemKey[]> {
    const shardItems = await Promise.all(partitions(true).map(([shard, of]) => queryAll({
      TableName: tableName,
      ...expressions({ KeyConditionExpression: '#pk = :pk', ProjectionExpression: '#pk, #sk' }, { pk: metricKeys.counts(tenant, shard, of).pk }),
      ConsistentRead: true
    })))
    const assets = (await assetNames(tenant, true)).flatMap((asset) => [metricKeys.asset(tenant, asset), metricKeys.assetTop(tenant, asset)])
    return [...shardItems.flat().map((item) => ({ pk: String(item.pk), sk: String(item.sk) })), ...assets]
  }

  return {
    apply,

    async readCounts (tenant, today, asset) {
      const dueBlock = blockOf(today, DUE_BLOCK_DAYS)
      const keys = asset === undefined
        ? shards.flatMap((shard) => [metricKeys.counts(tenant, shard), metricKeys.due(tenant, shard, dueBlock)])
        : [metricKeys.asset(tenant, asset)]
      const items = await batchGet(store, keys)
      const total: CounterValues = {}
      for (const item of items) addInto(total, countersOf(item))
      // The counts (or the asset) fold; a due block's days are never folded (its block counter in the counts is).
      const folding = items.filter((item) => item.sk === 'COUNTS' || item.sk === 'ASSET')
      await Promise.all(folding.map((item) => foldPastDue({ pk: String(item.pk), sk: String(item.sk) }, item, today)))
      return total
    },

    async readWindow (tenant, fromDay, toDay) {
      const { blocks, days } = splitIntoBlocks(fromDay, toDay, REMEDIATION_BLOCK_DAYS)
      const keys = shards.flatMap((shard) => [...blocks.map((block) => metricKeys.remediation(tenant, shard, block)), ...days.map((day) => metricKeys.day(tenant, shard, day))])
      const total: CounterValues = {}
      for (const item of await readByKeys(keys)) addInto(total, countersOf(item))
      return total
    },

    async readTrend (tenant, fromDay, toDay) {
      const blocks = blocksBetween(fromDay, toDay, TREND_BLOCK_DAYS)
      const items = await readByKeys(shards.flatMap((shard) => blocks.map((block) => metricKeys.trend(tenant, shard, block))))
      const trend = new Map<string, { opened: number, resolved: number }>()
      for (const item of items) {
        for (const [attribute, n] of Object.entries(countersOf(item))) {
          const [kind, day] = attribute.split('|')
          if (kind !== 'n' || day === undefined || day < fromDay || day > toDay) continue
          const { opened, resolved } = trendFigures(n)
          const figures = trend.get(day) ?? { opened: 0, resolved: 0 }
          trend.set(day, { opened: figures.opened + opened, resolved: figures.resolved + resolved })
        }
      }
      return trend
    },

    async topAssets (tenant, limit) {
      const pages = await Promise.all(shards.map((shard) => storeCall(() => documents.send(new QueryCommand({
        TableName: tableName,
        IndexName: metricIndexes.topAssets.name,
        ...expressions({ KeyConditionExpression: '#pk = :pk', ProjectionExpression: '#asset, #open' }, { pk: metricPartitions.topAssetsShard(tenant, shard) }, { pk: metricIndexes.topAssets.pk }),
        Limit: limit
      })))))
      return pages.flatMap((page) => page.Items ?? [])
        .map((item) => ({ name: String(item.asset), open: typeof item.open === 'number' ? item.open : 0 }))
        .filter((asset) => asset.open > 0)
        .sort((a, b) => b.open - a.open || (a.name < b.name ? -1 : 1))
        .slice(0, limit)
    },

    async reset (tenant, live) {
      const before = await counterItemKeys(tenant)
      const items = new Map<string, Record<string, unknown>>()
      const byShard = new Map<number, RecordFacts[]>()
      for (const { id, facts } of live) byShard.set(metricShardOf(id), [...(byShard.get(metricShardOf(id)) ?? []), facts])
      const assets = new Map<string, CounterValues>()
      const today = dayOf(new Date(now()).toISOString())
      for (const [shard, facts] of byShard) {
        for (const { item, adds } of recount(facts)) {
          // Items no read asks for any more are not written (and go with the rest).
          if (isPastRetention(counterItemId(item), today)) continue
          if (item.kind === 'asset') addInto(assets.has(item.asset) ? assets.get(item.asset)! : assets.set(item.asset, {}).get(item.asset)!, adds)
          else {
            const key = counterKey(tenant, shard, item)
            items.set(`${key.pk}\n${key.sk}`, { ...key, tenant, ...adds })
          }
        }
      }
      for (const [asset, adds] of assets) {
        const key = metricKeys.asset(tenant, asset)
        items.set(`${key.pk}\n${key.sk}`, { ...key, tenant, asset, rev: 1, ...adds })
        const place = assetPlace(tenant, asset, adds.open ?? 0, 1)
        items.set(`${String(place.pk)}\n${String(place.sk)}`, place)
      }
      const counted = new Set<string>()
      for await (const { id } of countedRecords(tenant, true)) counted.add(id)
      const liveIds = new Set(live.map(({ id }) => id))
      for (const { id, version, facts } of live) {
        const key = metricKeys.record(tenant, id)
        items.set(`${key.pk}\n${key.sk}`, { ...key, tenant, version, facts, [metricIndexes.countedRecords.pk]: metricPartitions.countedRecords(tenant, id), [metricIndexes.countedRecords.sk]: id })
      }
      const gone = [...before.filter((key) => !items.has(`${key.pk}\n${key.sk}`)), ...[...counted].filter((id) => !liveIds.has(id)).map((id) => metricKeys.record(tenant, id))]
      const written = [...items.values()]
      for (let i = 0; i < written.length; i += 100) await batchPut(store, written.slice(i, i + 100))
      for (let i = 0; i < gone.length; i += 100) await batchDelete(store, gone.slice(i, i + 100))
      // Every summary kept before was read from the counters replaced.
      await Promise.all(shards.map((shard) => countChange(tenant, shard)))
      return { written: written.length, removed: gone.length }
    },

    async readSummary (tenant, windowDays, today) {
      const summaryKey = metricKeys.summary(tenant, windowDays)
      const items = await batchGet(store, [summaryKey, ...shards.map((shard) => metricKeys.changes(tenant, shard))])
      const byPartition = new Map(items.map((item) => [String(item.pk), item]))
      const summary = byPartition.get(summaryKey.pk)
      const counts = shards.map((shard) => byPartition.get(metricKeys.changes(tenant, shard).pk))
      const changes = counts.map((item) => typeof item?.changes === 'number' ? item.changes : 0)
      if (typeof summary?.figures === 'string' && summary.day === today && typeof summary.keptAt === 'number' && now() - summary.keptAt < SUMMARY_MAX_AGE_MS && Array.isArray(summary.changes) &&
        summary.changes.length === changes.length && changes.every((n, i) => (summary.changes as unknown[])[i] === n)) return { kept: summary.figures }
      const lastChange = Math.max(0, ...counts.map((item) => typeof item?.changedAt === 'number' ? item.changedAt : 0))
      return { kept: undefined, changes, settled: now() - lastChange >= SUMMARY_SETTLE_MS }
    },

    async keepSummary (tenant, windowDays, today, lookup, figures) {
      if (!lookup.settled) return
      // Unconditional: a summary kept under older change counts than the shards' no longer matches them.
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: { ...metricKeys.summary(tenant, windowDays), tenant, day: today, keptAt: now(), changes: lookup.changes, figures }
      })))
    },

    countedRecords: (tenant) => countedRecords(tenant),

    async allCounters (tenant) {
      const items = new Map<string, CounterValues>()
      const shardItems = await Promise.all(shards.map((shard) => queryAll({
        TableName: tableName,
        ...expressions({ KeyConditionExpression: '#pk = :pk' }, { pk: metricKeys.counts(tenant, shard).pk }),
        ConsistentRead: true
      })))
      const assetItems = await batchGet(store, (await assetNames(tenant)).map((asset) => metricKeys.asset(tenant, asset)))
      for (const item of [...shardItems.flat(), ...assetItems]) {
        // The shards of the counts, of a day or of a block add up; an asset is one item.
        const id = item.sk === 'ASSET' ? counterItemId({ kind: 'asset', asset: String(item.asset) }) : String(item.sk)
        const values = items.get(id) ?? {}
        addInto(values, countersOf(item))
        items.set(id, values)
      }
      return items
    },

    async pruneTombstones (tenant, before) {
      let pruned = 0
      for (const [shard, of] of partitions(true)) {
        const tombstones = await queryAll({
          TableName: tableName,
          IndexName: metricIndexes.tombstones.name,
          ...expressions({ KeyConditionExpression: '#pk = :pk AND #sk < :before' }, { pk: metricPartitions.tombstonesShard(tenant, shard, of), before: before.toISOString() }, { pk: metricIndexes.tombstones.pk, sk: metricIndexes.tombstones.sk })
        })
        for (const item of tombstones) {
          const position = String(item[metricIndexes.tombstones.sk])
          const recordId = position.slice(position.indexOf('#') + 1)
          const tombstone = item as unknown as RecordMetricsItem
          if (tombstone.pending) {
            // A deletion whose applier died: its counter change is finished before the tombstone may go.
            if (tombstone.pending.leaseUntil > now() || !await takeOver(tenant, recordId, tombstone.pending, randomUUID())) continue
            await finish(tenant, recordId, tombstone.pending)
          }
          pruned += Number(await writesUnlessConditionFails(() => documents.send(new DeleteCommand({
            TableName: tableName,
            Key: { pk: item.pk, sk: item.sk },
            // Only this tombstone, with nothing pending: not a record counted again or deleted again since.
            ...expressions({ ConditionExpression: '#version = :version AND attribute_type(#facts, :null) AND attribute_not_exists(#pending)' }, { version: tombstone.version, null: 'NULL' })
          }))))
        }
      }
      return pruned
    },

    async pruneCounterItems (tenant, horizon) {
      const prefixes = [metricKeys.dayPrefix, metricKeys.remediationPrefix, metricKeys.duePrefix, metricKeys.trendPrefix]
      const found = await Promise.all(shards.flatMap((shard) => prefixes.map((prefix) => queryAll({
        TableName: tableName,
        // A block named by a day before the horizon may still reach past it: the names are checked below.
        ...expressions({ KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last', ProjectionExpression: '#pk, #sk' }, { pk: metricKeys.counts(tenant, shard).pk, first: prefix, last: `${prefix}${horizon}` })
      }))))
      // Nothing reads these items: a change landing on one meanwhile is lost with it, as intended.
      const old = found.flat().map((item) => ({ pk: String(item.pk), sk: String(item.sk) })).filter(({ sk }) => {
        const item = counterItemOfId(sk)
        return item !== undefined && endsBefore(item, horizon)
      })
      await batchDelete(store, old)
      return old.length
    },

    async placeDrift (tenant, assets) {
      const names = [...new Set([...assets, ...await assetNames(tenant)])]
      const [items, places] = await Promise.all([
        readByKeys(names.map((asset) => metricKeys.asset(tenant, asset))),
        readByKeys(names.map((asset) => metricKeys.assetTop(tenant, asset)))
      ])
      const openOf = (item: Record<string, unknown> | undefined) => (typeof item?.open === 'number' ? item.open : 0)
      const itemOf = new Map(items.map((item) => [String(item.pk), item]))
      const placeOf = new Map(places.map((place) => [String(place.pk), place]))
      return names.flatMap((asset): PlaceDrift[] => {
        const { pk } = metricKeys.asset(tenant, asset)
        const item = itemOf.get(pk)
        const place = placeOf.get(pk)
        if (!item && !place) return []
        if (place && openOf(place) === openOf(item)) return []
        return [{ asset, open: openOf(item), placed: place ? openOf(place) : null }]
      }).sort((a, b) => (a.asset < b.asset ? -1 : 1))
    },

    async rewritePlace (tenant, asset) {
      await placeFromItem(tenant, asset)
      await countChange(tenant, 0)
    }
  }
}
