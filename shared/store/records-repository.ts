import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'
import type { RecordChange } from '../records/change.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { batchGet } from './batch.ts'
import type { Store } from './client.ts'
import { createLayoutReader } from './index-layout.ts'
import { indexes, internalAttributes, outboxAttributes, partitions, recordIndexAttributes, recordIndexes, recordKey, shardsToRead, type IndexLayout } from './keys.ts'
import type { ListFilters } from '../records/list-filters.ts'
import { planListQuery, type PartitionQuery, type ReadBudget } from './list-plan.ts'
import { storeCall, unlessConditionFails, writesUnlessConditionFails } from './store-errors.ts'

export interface ListPage {
  items: SecurityRecord[]
  /** Where the next page starts, when there may be one. */
  resumeAfter?: string
}

/**
 * A record item as stored: the record, the change that produced its current version, and
 * whether that change's history entry is still owed. A deleted record stays behind as a
 * tombstone (invisible to every read and index) until its history entry is written.
 */
export interface StoredRecord {
  record: SecurityRecord
  change?: RecordChange
  /** The change whose history entry is not written yet. */
  pendingHistory?: RecordChange
  deleted: boolean
}

/** Who writes the history entry of a new record: the outbox after the commit, or the caller. */
export type HistoryWriter = 'after-commit' | 'owed-by-caller'

/** The record items of the table: every call takes the tenant, and every key starts with it. */
export interface RecordsRepository {
  /** The item as stored (tombstones included), read consistently. */
  getStored (tenant: string, id: string): Promise<StoredRecord | undefined>
  /** The live record, or undefined (tombstones included). */
  get (tenant: string, id: string): Promise<SecurityRecord | undefined>
  /** Several items as stored (tombstones included), read consistently in batches; missing ones are absent. */
  getStoredMany (tenant: string, ids: readonly string[]): Promise<Map<string, StoredRecord>>
  /**
   * Writes version 1; never overwrites an existing item: false when an item has this id.
   * `history` says who writes its history entry: the outbox after the commit, or the caller (an
   * import, whose own checkpoint, not the record, remembers the entry until then). The latter saves
   * the outbox mark and its clearing; and the item carries its change without the diff (the entry
   * has it, and version 1 is its own diff), so the item each index copies is half the size.
   */
  insert (tenant: string, record: SecurityRecord, change: RecordChange, history?: HistoryWriter): Promise<boolean>
  /** Writes the next version over `expectedVersion`; false when the item moved on or is gone. */
  replace (tenant: string, record: SecurityRecord, expectedVersion: number, change: RecordChange): Promise<boolean>
  /** First step of a delete: the record becomes a tombstone carrying the `deleted` change; false when the item moved on or is gone. */
  tombstone (tenant: string, record: SecurityRecord, change: RecordChange): Promise<boolean>
  /** The history entry of `version` exists: the item leaves the outbox. */
  markHistoryWritten (tenant: string, id: string, version: number): Promise<void>
  /** Last step of a delete: removes the tombstone once its history entry is written. */
  purge (tenant: string, id: string, version: number): Promise<void>
  /**
   * The ids and fingerprints of an asset's records whose fingerprint starts with `prefix` (an
   * import's scope), a page at a time: a Query of the asset's index partition, never a Scan, that
   * answers only those two attributes. `after` is where the last page ended.
   */
  listByFingerprintPrefix (tenant: string, assetName: string, prefix: string, after?: Record<string, unknown>): Promise<{ items: Array<{ id: string, fingerprint: string }>, after?: Record<string, unknown> }>
  /** One page of a filtered list (Queries only, never a Scan). */
  list (tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage>
}

/**
 * The item of a record whose change nothing is owed for here (its history written, or owed by
 * the caller): the record, its index keys in the table's layout, the change that produced it.
 */
export function settledRecordItem (tenant: string, record: SecurityRecord, change: RecordChange, layout: IndexLayout) {
  return {
    ...record,
    ...recordKey(tenant, record.id),
    ...recordIndexAttributes(tenant, record, layout),
    tenant,
    change,
    historyVersion: change.version
  }
}

/**
 * The item a record is stored as at its commit: its change is owed to history and events until
 * the outbox entry is cleared.
 */
export function recordItem (tenant: string, record: SecurityRecord, change: RecordChange, layout: IndexLayout) {
  return { ...settledRecordItem(tenant, record, change, layout), ...outboxAttributes(tenant, record.id, change.at), historyVersion: change.version - 1 }
}

export function createRecordsRepository (store: Store): RecordsRepository {
  const { documents, tableName } = store
  /** The table's index layout (keys.ts, IndexLayout): every write and list follows it. */
  const indexLayout = createLayoutReader(store)

  async function getStored (tenant: string, id: string): Promise<StoredRecord | undefined> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({
      TableName: tableName,
      Key: recordKey(tenant, id),
      // Read-your-writes: a client that just created or changed a record must see it.
      ConsistentRead: true
    })))
    return Item ? toStored(Item) : undefined
  }

  return {
    getStored,

    async get (tenant: string, id: string): Promise<SecurityRecord | undefined> {
      const stored = await getStored(tenant, id)
      return stored && !stored.deleted ? stored.record : undefined
    },

    async getStoredMany (tenant, ids) {
      const items = await batchGet(store, ids.map((id) => recordKey(tenant, id)))
      return new Map(items.map((item) => [String(item.id), toStored(item)]))
    },

    async insert (tenant, record, change, history = 'after-commit') {
      const layout = await indexLayout()
      const item = history === 'owed-by-caller' ? settledRecordItem(tenant, record, { ...change, changes: [] }, layout) : recordItem(tenant, record, change, layout)
      return await writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: item,
        // Create: never overwrite an existing record (or tombstone), whatever the id.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async replace (tenant, record, expectedVersion, change) {
      const layout = await indexLayout()
      return await writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: recordItem(tenant, record, change, layout),
        // Update: the live record is still the version we read and settled (no lost update,
        // and the change it carries already has its history entry).
        ConditionExpression: 'attribute_exists(pk) AND #version = :expected AND attribute_not_exists(deleted)',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expectedVersion }
      })))
    },

    /**
     * Deletes in two steps so the deletion has a history entry: first the record becomes a
     * tombstone carrying the `deleted` change (gone from every index), then `purge` removes it
     * once that entry is written.
     */
    async tombstone (tenant, record, change) {
      const indexAttributes = recordIndexes.flatMap((index) => [index.pk, index.sk])
      const outbox = outboxAttributes(tenant, record.id, change.at)
      return await writesUnlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: recordKey(tenant, record.id),
        UpdateExpression: `SET deleted = :true, #version = :next, #change = :change, historyVersion = :expected, #outboxPk = :outboxPk, #outboxSk = :outboxSk REMOVE ${indexAttributes.map((_, i) => `#index${i}`).join(', ')}`,
        // Delete: the live record is still the version we read and settled.
        ConditionExpression: 'attribute_exists(pk) AND #version = :expected AND attribute_not_exists(deleted)',
        ExpressionAttributeNames: {
          '#version': 'version', '#change': 'change', '#outboxPk': indexes.outbox.pk, '#outboxSk': indexes.outbox.sk,
          ...Object.fromEntries(indexAttributes.map((name, i) => [`#index${i}`, name]))
        },
        ExpressionAttributeValues: {
          ':true': true, ':next': change.version, ':expected': record.version, ':change': change,
          ':outboxPk': outbox[indexes.outbox.pk], ':outboxSk': outbox[indexes.outbox.sk]
        }
      })))
    },

    async markHistoryWritten (tenant: string, id: string, version: number): Promise<void> {
      await unlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: recordKey(tenant, id),
        UpdateExpression: 'SET historyVersion = :version REMOVE #outboxPk, #outboxSk',
        // Only while the item is still that version: a newer write owns the outbox entry now.
        ConditionExpression: '#version = :version AND attribute_not_exists(deleted)',
        ExpressionAttributeNames: { '#version': 'version', '#outboxPk': indexes.outbox.pk, '#outboxSk': indexes.outbox.sk },
        ExpressionAttributeValues: { ':version': version }
      })))
    },

    async purge (tenant: string, id: string, version: number): Promise<void> {
      await unlessConditionFails(() => documents.send(new DeleteCommand({
        TableName: tableName,
        Key: recordKey(tenant, id),
        // Only the tombstone we settled, never a live record.
        ConditionExpression: 'deleted = :true AND #version = :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':true': true, ':version': version }
      })))
    },

    async listByFingerprintPrefix (tenant, assetName, prefix, after) {
      // The asset's shards one after the other (order does not matter here); `after` says which
      // shard the last page ended in and where.
      const shards = shardsToRead(await indexLayout())
      const start = typeof after?.shard === 'number' ? after.shard : 0
      for (let shard = start; shard < shards.length; shard++) {
        const resume = shard === start ? after?.key as Record<string, unknown> | undefined : undefined
        const { Items = [], LastEvaluatedKey } = await storeCall(() => documents.send(new QueryCommand({
          TableName: tableName,
          IndexName: indexes.byAsset.name,
          KeyConditionExpression: '#pk = :pk',
          FilterExpression: 'begins_with(#fingerprint, :prefix)',
          ProjectionExpression: '#id, #fingerprint',
          ExpressionAttributeNames: { '#pk': indexes.byAsset.pk, '#id': 'id', '#fingerprint': 'fingerprint' },
          ExpressionAttributeValues: { ':pk': partitions.byAsset(tenant, assetName, shards[shard]), ':prefix': prefix },
          Limit: 500,
          ...(resume ? { ExclusiveStartKey: resume } : {})
        })))
        const next = LastEvaluatedKey ? { shard, key: LastEvaluatedKey } : shard + 1 < shards.length ? { shard: shard + 1 } : undefined
        if (Items.length > 0 || !next) return { items: Items.map((item) => ({ id: String(item.id), fingerprint: String(item.fingerprint) })), ...(next ? { after: next } : {}) }
        if (LastEvaluatedKey) return { items: [], after: next }
      }
      return { items: [] }
    },

    /**
     * One page of a filtered list. Each filter maps to index partitions (several values, and
     * every shard of each), merged in list-position order; filters without an index only narrow
     * a Query. Each partition reads a bounded number of items, so a page can end early with a
     * position to resume after.
     */
    async list (tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage> {
      const plan = planListQuery(tenant, filters, now, await indexLayout())
      const ascending = filters.order === 'asc'
      const before = (a: string, b: string) => ascending ? a < b : a > b
      const inOrder = (a: { position: string }, b: { position: string }) => (a.position === b.position ? 0 : before(a.position, b.position) ? -1 : 1)
      const budget = plan.readBudget(limit)
      const streams: PartitionStream[] = plan.partitions.map((partition) => ({ partition, items: [], read: 0, resumeAfter: after, done: false }))

      // Rounds of Queries: first every partition's share, then again only the partitions whose
      // unread items could still belong in this page (their frontier comes before the page's
      // last item so far), while their budget lasts.
      let due = streams
      while (due.length > 0) {
        await Promise.all(due.map((stream) => readMore(stream, budget, ascending)))
        const read = streams.flatMap((stream) => stream.items).sort(inOrder)
        const last = read.length >= limit ? read[limit - 1]!.position : undefined
        due = streams.filter((stream) => !stream.done && stream.read < budget.most && (last === undefined || before(stream.resumeAfter!, last)))
      }

      // Only items before every unfinished partition's frontier are known to be in order.
      let bound: string | undefined
      for (const stream of streams) if (!stream.done && (bound === undefined || before(stream.resumeAfter!, bound))) bound = stream.resumeAfter
      const candidates = streams.flatMap((stream) => stream.items)
        .filter((entry) => bound === undefined || entry.position === bound || before(entry.position, bound))
        .sort(inOrder)
      const page = candidates.slice(0, limit)
      const more = candidates.length > limit || bound !== undefined
      let resumeAfter: string | undefined
      if (page.length === limit && more) resumeAfter = page[page.length - 1]!.position
      else if (page.length < limit && bound !== undefined) resumeAfter = bound
      return { items: page.map((entry) => entry.record), ...(resumeAfter ? { resumeAfter } : {}) }
    }
  }

  /** Reads a partition's next items: a round's share, or what is left of its budget. */
  async function readMore (stream: PartitionStream, budget: ReadBudget, ascending: boolean) {
    const { index } = stream.partition
    const names: Record<string, string> = { '#pk': index.pk, ...stream.partition.filter?.names }
    const values: Record<string, unknown> = { ':pk': stream.partition.value, ...stream.partition.filter?.values }
    let keyCondition = '#pk = :pk'
    if (stream.resumeAfter !== undefined) {
      // Resume strictly after the last position served: no repeats, no gaps.
      keyCondition += ` AND #sk ${ascending ? '>' : '<'} :after`
      names['#sk'] = index.sk
      values[':after'] = stream.resumeAfter
    }
    const input: QueryCommandInput = {
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: ascending,
      Limit: Math.min(budget.first, budget.most - stream.read),
      ...(stream.partition.filter ? { FilterExpression: stream.partition.filter.expression } : {})
    }
    const { Items = [], LastEvaluatedKey, ScannedCount } = await storeCall(() => documents.send(new QueryCommand(input)))
    for (const item of Items) stream.items.push({ position: String(item[index.sk]), record: toStored(item).record })
    stream.read += ScannedCount ?? input.Limit!
    if (LastEvaluatedKey) stream.resumeAfter = String(LastEvaluatedKey[index.sk])
    else stream.done = true
  }
}

/** One partition of a list page being read: what it gave so far and where it stopped. */
interface PartitionStream {
  partition: PartitionQuery
  items: Array<{ position: string, record: SecurityRecord }>
  /** Items evaluated (the Query's Limit counts those a filter dropped too). */
  read: number
  /** The position its next Query resumes after. */
  resumeAfter: string | undefined
  done: boolean
}

const internal = new Set(internalAttributes)

/** Splits an item into the record as the API shows it and the store's bookkeeping. */
export function toStored (item: Record<string, unknown>): StoredRecord {
  const record: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(item)) if (!internal.has(key)) record[key] = value
  const change = item.change as RecordChange | undefined
  const historyVersion = typeof item.historyVersion === 'number' ? item.historyVersion : 0
  return {
    record: record as SecurityRecord,
    ...(change ? { change } : {}),
    ...(change && change.version > historyVersion ? { pendingHistory: change } : {}),
    deleted: item.deleted === true
  }
}
