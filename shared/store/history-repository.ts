import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { readHistoryActor, type RecordChange } from '../records/change.ts'
import { batchPut } from './batch.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { historyKey, historyPartition, historySortKey, indexes, outboxAttributes } from './keys.ts'
import { storeCall, unlessConditionFails } from './store-errors.ts'

/** A history entry as the API shows it. */
export interface HistoryEntry extends RecordChange {
  recordId: string
}

export interface HistoryPage {
  items: HistoryEntry[]
  resumeAfter?: string
}

/**
 * History entries: one item per committed change, in the record's own partition, sorted by
 * version. While its CloudEvent is still owed, an entry also carries the event's data and sits
 * in the outbox index, so a sweeper can deliver it even if nobody touches the record again.
 */
export interface HistoryRepository {
  /** Writes the entry once; a second write of the same version is a no-op (repairs are idempotent). */
  write (tenant: string, recordId: string, change: RecordChange, pendingEventData?: unknown): Promise<void>
  /**
   * Writes entries in batches, unconditionally: only for changes whose content is settled before
   * they are written (version 1 of records the caller just inserted), so that a second write of
   * one writes the same entry again.
   */
  writeSettled (tenant: string, entries: ReadonlyArray<{ recordId: string, change: RecordChange, pendingEventData?: unknown }>): Promise<void>
  /** The event of this entry was delivered: drop its data and leave the outbox. */
  markEventDelivered (tenant: string, recordId: string, version: number): Promise<void>
  /** Newest first; `beforeVersion` resumes below the last version of the previous page. */
  list (tenant: string, recordId: string, limit: number, beforeVersion?: number): Promise<HistoryPage>
}

/** The item of a history entry; while its event is owed, with the event's data, in the outbox. */
export function historyItem (tenant: string, recordId: string, change: RecordChange, pendingEventData: unknown) {
  return {
    ...historyKey(tenant, recordId, change.version),
    tenant,
    recordId,
    ...change,
    ...(pendingEventData === undefined ? {} : { eventData: pendingEventData, ...outboxAttributes(tenant, recordId, change.at) })
  }
}

export function createHistoryRepository (store: Store): HistoryRepository {
  const { documents, tableName } = store
  const toItem = historyItem
  return {
    async write (tenant, recordId, change, pendingEventData) {
      await unlessConditionFails(() => documents.send(new PutCommand({
        TableName: tableName,
        Item: toItem(tenant, recordId, change, pendingEventData),
        // History is append-only: an entry, once written, is never replaced.
        ConditionExpression: 'attribute_not_exists(pk)'
      })))
    },

    async writeSettled (tenant, entries) {
      await batchPut(store, entries.map(({ recordId, change, pendingEventData }) => toItem(tenant, recordId, change, pendingEventData)))
    },

    async markEventDelivered (tenant, recordId, version) {
      await unlessConditionFails(() => documents.send(new UpdateCommand({
        TableName: tableName,
        Key: historyKey(tenant, recordId, version),
        ...expressions({
          UpdateExpression: 'REMOVE eventData, #outboxPk, #outboxSk',
          // Only an existing entry: never create a stub entry by updating a missing one.
          ConditionExpression: 'attribute_exists(pk)'
        }, {}, { outboxPk: indexes.outbox.pk, outboxSk: indexes.outbox.sk })
      })))
    },

    async list (tenant, recordId, limit, beforeVersion) {
      const { pk, prefix } = historyPartition(tenant, recordId)
      const { Items = [] } = await storeCall(() => documents.send(new QueryCommand({
        TableName: tableName,
        ...expressions({
          KeyConditionExpression: beforeVersion === undefined ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk AND sk BETWEEN :prefix AND :last'
        }, { pk, prefix, ...(beforeVersion === undefined ? {} : { last: historySortKey(beforeVersion - 1) }) }),
        ScanIndexForward: false,
        Limit: limit + 1,
        ConsistentRead: true
      })))
      const entries = Items.map(toEntry)
      const page = entries.slice(0, limit)
      return { items: page, ...(entries.length > limit ? { resumeAfter: String(page[page.length - 1]!.version) } : {}) }
    }
  }
}

function toEntry (item: Record<string, unknown>): HistoryEntry {
  const { recordId, version, action, at, actor, requestId, clientRequestId, changes } = item as unknown as HistoryEntry
  return { recordId, version, action, at, actor: readHistoryActor(actor), requestId, ...(clientRequestId === undefined ? {} : { clientRequestId }), changes }
}
