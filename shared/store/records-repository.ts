import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'
import { NotFoundError, PreconditionFailedError } from '../errors.ts'
import type { RecordChange } from '../records/change.ts'
import { etagOf } from '../records/etag.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { batchGet } from './batch.ts'
import type { Store } from './client.ts'
import { indexes, internalAttributes, outboxAttributes, partitions, recordIndexAttributes, recordKey } from './keys.ts'
import type { ListFilters } from '../records/list-filters.ts'
import { planListQuery, type PartitionQuery } from './list-plan.ts'
import { isConditionFailed, storeCall, unlessConditionFails } from './store-errors.ts'

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

/** The record items of the table: every call takes the tenant, and every key starts with it. */
export interface RecordsRepository {
  /** The item as stored (tombstones included), read consistently. */
  getStored (tenant: string, id: string): Promise<StoredRecord | undefined>
  /** The live record, or undefined (tombstones included). */
  get (tenant: string, id: string): Promise<SecurityRecord | undefined>
  /** Several items as stored (tombstones included), read consistently in batches; missing ones are absent. */
  getStoredMany (tenant: string, ids: readonly string[]): Promise<Map<string, StoredRecord>>
  /** Writes version 1; never overwrites an existing item. */
  insert (tenant: string, record: SecurityRecord, change: RecordChange): Promise<void>
  /**
   * Writes version 1 like `insert`, but outside the outbox and with its history counted as
   * written: the caller (an import) writes that entry itself, and its own checkpoint, not the
   * record, remembers the entry until then. Saves the outbox mark and its clearing; and the item
   * carries its change without the diff (the entry has it, and version 1 is its own diff), so the
   * item each index copies is half the size.
   */
  insertHistoryOwedByCaller (tenant: string, record: SecurityRecord, change: RecordChange): Promise<void>
  /** Writes the next version over `expectedVersion`; 404 or 412 when the item moved on. */
  replace (tenant: string, record: SecurityRecord, expectedVersion: number, change: RecordChange): Promise<void>
  /** First step of a delete: the record becomes a tombstone carrying the `deleted` change. */
  tombstone (tenant: string, record: SecurityRecord, change: RecordChange): Promise<void>
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

export function createRecordsRepository (store: Store): RecordsRepository {
  const { documents, tableName } = store
  const notFound = (id: string) => new NotFoundError(`No record with id ${id}`)

  function toItem (tenant: string, record: SecurityRecord, change: RecordChange) {
    return {
      ...record,
      ...recordKey(tenant, record.id),
      ...recordIndexAttributes(tenant, record),
      ...outboxAttributes(tenant, record.id, change.at),
      tenant,
      change,
      historyVersion: change.version - 1
    }
  }

  async function getStored (tenant: string, id: string): Promise<StoredRecord | undefined> {
    const { Item } = await storeCall(() => documents.send(new GetCommand({
      TableName: tableName,
      Key: recordKey(tenant, id),
      // Read-your-writes: a client that just created or changed a record must see it.
      ConsistentRead: true
    })))
    return Item ? toStored(Item) : undefined
  }

  /** After a conditional write failed: was the record gone, or was it changed by someone else? */
  async function explainConflict (tenant: string, id: string): Promise<never> {
    const current = await getStored(tenant, id)
    if (!current || current.deleted) throw notFound(id)
    throw new PreconditionFailedError(etagOf(current.record))
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

    async insertHistoryOwedByCaller (tenant, record, change) {
      const item: Record<string, unknown> = { ...toItem(tenant, record, { ...change, changes: [] }), historyVersion: change.version }
      delete item[indexes.outbox.pk]
      delete item[indexes.outbox.sk]
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: item,
        // Create: never overwrite an existing record (or tombstone), whatever the id.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async insert (tenant: string, record: SecurityRecord, change: RecordChange): Promise<void> {
      await storeCall(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: toItem(tenant, record, change),
        // Create: never overwrite an existing record (or tombstone), whatever the id.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async replace (tenant: string, record: SecurityRecord, expectedVersion: number, change: RecordChange): Promise<void> {
      try {
        await storeCall(() => documents.send(new PutCommand({
          TableName: tableName,
          Item: toItem(tenant, record, change),
          // Update: the live record is still the version we read and settled (no lost update,
          // and the change it carries already has its history entry).
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected AND attribute_not_exists(deleted)',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion }
        })))
      } catch (error) {
        if (isConditionFailed(error)) await explainConflict(tenant, record.id)
        throw error
      }
    },

    /**
     * Deletes in two steps so the deletion has a history entry: first the record becomes a
     * tombstone carrying the `deleted` change (gone from every index), then `purge` removes it
     * once that entry is written.
     */
    async tombstone (tenant: string, record: SecurityRecord, change: RecordChange): Promise<void> {
      const indexAttributes = Object.values(indexes).filter((index) => index !== indexes.outbox).flatMap((index) => [index.pk, index.sk])
      const outbox = outboxAttributes(tenant, record.id, change.at)
      try {
        await storeCall(() => documents.send(new UpdateCommand({
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
      } catch (error) {
        if (isConditionFailed(error)) await explainConflict(tenant, record.id)
        throw error
      }
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
      const { Items = [], LastEvaluatedKey } = await storeCall(() => documents.send(new QueryCommand({
        TableName: tableName,
        IndexName: indexes.byAsset.name,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: 'begins_with(#fingerprint, :prefix)',
        ProjectionExpression: '#id, #fingerprint',
        ExpressionAttributeNames: { '#pk': indexes.byAsset.pk, '#id': 'id', '#fingerprint': 'fingerprint' },
        ExpressionAttributeValues: { ':pk': partitions.byAsset(tenant, assetName), ':prefix': prefix },
        Limit: 500,
        ...(after ? { ExclusiveStartKey: after } : {})
      })))
      return { items: Items.map((item) => ({ id: String(item.id), fingerprint: String(item.fingerprint) })), ...(LastEvaluatedKey ? { after: LastEvaluatedKey } : {}) }
    },

    /**
     * One page of a filtered list. Each filter maps to an index partition (or several, merged in
     * order); filters without an index only narrow a Query, and each partition reads a bounded
     * number of items, so a page can end early with a position to resume after.
     */
    async list (tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage> {
      const plan = planListQuery(tenant, filters, now)
      const ascending = filters.order === 'asc'
      const before = (a: string, b: string) => ascending ? a < b : a > b
      const results = await Promise.all(plan.partitions.map((partition) => queryPartition(partition, plan.readBudget(limit), after, ascending)))

      // Only items before every unfinished partition's frontier are known to be in order.
      let bound: string | undefined
      for (const { frontier } of results) if (frontier !== undefined && (bound === undefined || before(frontier, bound))) bound = frontier
      const candidates = results.flatMap((result) => result.items)
        .filter((entry) => bound === undefined || entry.position === bound || before(entry.position, bound))
        .sort((a, b) => (a.position === b.position ? 0 : before(a.position, b.position) ? -1 : 1))
      const page = candidates.slice(0, limit)
      const more = candidates.length > limit || bound !== undefined
      let resumeAfter: string | undefined
      if (page.length === limit && more) resumeAfter = page[page.length - 1]!.position
      else if (page.length < limit && bound !== undefined) resumeAfter = bound
      return { items: page.map((entry) => entry.record), ...(resumeAfter ? { resumeAfter } : {}) }
    }
  }

  async function queryPartition (partition: PartitionQuery, readBudget: number, after: string | undefined, ascending: boolean) {
    const { index } = partition
    const names: Record<string, string> = { '#pk': index.pk, ...partition.filter?.names }
    const values: Record<string, unknown> = { ':pk': partition.value, ...partition.filter?.values }
    let keyCondition = '#pk = :pk'
    if (after !== undefined) {
      // Resume strictly after the last position served: no repeats, no gaps.
      keyCondition += ` AND #sk ${ascending ? '>' : '<'} :after`
      names['#sk'] = index.sk
      values[':after'] = after
    }
    const input: QueryCommandInput = {
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: ascending,
      Limit: readBudget,
      ...(partition.filter ? { FilterExpression: partition.filter.expression } : {})
    }
    const { Items = [], LastEvaluatedKey } = await storeCall(() => documents.send(new QueryCommand(input)))
    return {
      items: Items.map((item) => ({ position: String(item[index.sk]), record: toStored(item).record })),
      frontier: LastEvaluatedKey ? String(LastEvaluatedKey[index.sk]) : undefined
    }
  }
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
