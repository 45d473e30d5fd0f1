import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { RecordChange } from '../records/change.ts'
import type { ListFilters } from '../records/list-filters.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { batchGet } from './batch.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { historyItem } from './history-repository.ts'
import { assertItemFits } from './item-size.ts'
import { createLayoutReader } from './index-layout.ts'
import { indexes, outboxAttributes, recordIndexes, recordKey } from './keys.ts'
import { recordItem, settledRecordItem, toStored, type StoredRecord } from './record-items.ts'
import { listImportOwned, listRecords, type ImportOwned, type ListPage, type OwnedBy } from './record-list.ts'
import { storeCall, unlessConditionFails, writesUnlessConditionFails } from './store-errors.ts'

export type { ImportOwned, ListPage, OwnedBy, StoredRecord }

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
  insert (tenant: string, record: SecurityRecord, change: RecordChange, history?: HistoryWriter, importScope?: string): Promise<boolean>
  /**
   * Writes the next version over `expectedVersion`; false when the item moved on or is gone. The
   * item is written whole: `importScope` is the import-ownership mark it carries on (the one read).
   */
  replace (tenant: string, record: SecurityRecord, expectedVersion: number, change: RecordChange, importScope?: string): Promise<boolean>
  /** First step of a delete: the record becomes a tombstone carrying the `deleted` change; false when the item moved on or is gone. */
  tombstone (tenant: string, record: SecurityRecord, change: RecordChange): Promise<boolean>
  /** The history entry of `version` exists: the item leaves the outbox. */
  markHistoryWritten (tenant: string, id: string, version: number): Promise<void>
  /** Last step of a delete: removes the tombstone once its history entry is written. */
  purge (tenant: string, id: string, version: number): Promise<void>
  /**
   * The ids and fingerprints of an asset's records an import of one scope created: those marked
   * with `scope.key`, and unmarked ones whose fingerprint starts with `scope.legacyPrefix` (made
   * before there was a mark: the caller checks they are an import's), a page at a time. A Query of
   * the asset's index partition, never a Scan, that answers only those attributes. `after` is where the last page ended.
   */
  listImportOwned (tenant: string, assetName: string, scope: OwnedBy, after?: Record<string, unknown>): Promise<{ items: ImportOwned[], after?: Record<string, unknown> }>
  /** One page of a filtered list (Queries only, never a Scan). */
  list (tenant: string, filters: ListFilters, limit: number, after: string | undefined, now: Date): Promise<ListPage>
}

export function createRecordsRepository (store: Store): RecordsRepository {
  const { documents, tableName } = store
  /** The table's index layout (keys.ts, IndexLayout): every write and list follows it. */
  const indexLayout = createLayoutReader(store)

  /**
   * A record item is committed only if it and the history entry owed for it (the change, with the
   * record as its event's data) both fit the item limit: an entry too large to write after the
   * commit would stay owed for ever.
   */
  function assertWritable (tenant: string, item: Record<string, unknown>, record: SecurityRecord, change: RecordChange): void {
    assertItemFits(item, 'The record with the change it carries (before and after)')
    assertItemFits(historyItem(tenant, record.id, change, record), 'The history entry of this change (before and after, and the record)')
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

    async insert (tenant, record, change, history = 'after-commit', importScope) {
      const layout = await indexLayout()
      const item = history === 'owed-by-caller' ? settledRecordItem(tenant, record, { ...change, changes: [] }, layout, importScope) : recordItem(tenant, record, change, layout, importScope)
      assertWritable(tenant, item, record, change)
      return await writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: item,
        // Create: never overwrite an existing record (or tombstone), whatever the id.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async replace (tenant, record, expectedVersion, change, importScope) {
      const layout = await indexLayout()
      const item = recordItem(tenant, record, change, layout, importScope)
      assertWritable(tenant, item, record, change)
      return await writesUnlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: item,
        ...expressions({
          // Update: the live record is still the version we read and settled (no lost update,
          // and the change it carries already has its history entry).
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected AND attribute_not_exists(deleted)'
        }, { expected: expectedVersion })
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
        ...expressions({
          UpdateExpression: `SET deleted = :true, #version = :next, #change = :change, historyVersion = :expected, #outboxPk = :outboxPk, #outboxSk = :outboxSk REMOVE ${indexAttributes.map((_, i) => `#index${i}`).join(', ')}`,
          // Delete: the live record is still the version we read and settled.
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected AND attribute_not_exists(deleted)'
        }, {
          true: true, next: change.version, expected: record.version, change,
          outboxPk: outbox[indexes.outbox.pk], outboxSk: outbox[indexes.outbox.sk]
        }, { outboxPk: indexes.outbox.pk, outboxSk: indexes.outbox.sk, ...Object.fromEntries(indexAttributes.map((name, i) => [`index${i}`, name])) })
      })))
    },

    async markHistoryWritten (tenant: string, id: string, version: number): Promise<void> {
      await unlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: recordKey(tenant, id),
        ...expressions({
          UpdateExpression: 'SET historyVersion = :version REMOVE #outboxPk, #outboxSk',
          // Only while the item is still that version: a newer write owns the outbox entry now.
          ConditionExpression: '#version = :version AND attribute_not_exists(deleted)'
        }, { version }, { outboxPk: indexes.outbox.pk, outboxSk: indexes.outbox.sk })
      })))
    },

    async purge (tenant: string, id: string, version: number): Promise<void> {
      await unlessConditionFails(() => documents.send(new DeleteCommand({
        TableName: tableName,
        Key: recordKey(tenant, id),
        // Only the tombstone we settled, never a live record.
        ...expressions({ ConditionExpression: 'deleted = :true AND #version = :version' }, { true: true, version })
      })))
    },

    async listImportOwned (tenant, assetName, scope, after) {
      return await listImportOwned(store, await indexLayout(), tenant, assetName, scope, after)
    },

    async list (tenant, filters, limit, after, now) {
      return await listRecords(store, await indexLayout(), tenant, filters, limit, after, now)
    }
  }
}
