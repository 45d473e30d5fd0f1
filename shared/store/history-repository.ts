import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { RecordChange } from '../records/change.ts'
import type { Store } from './client.ts'
import { historyKey, historyPartition, historySortKey, indexes, outboxAttributes } from './keys.ts'
import { isConditionFailed, storeCall } from './store-errors.ts'

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
  /** The event of this entry was delivered: drop its data and leave the outbox. */
  markEventDelivered (tenant: string, recordId: string, version: number): Promise<void>
  /** Newest first; `beforeVersion` resumes below the last version of the previous page. */
  list (tenant: string, recordId: string, limit: number, beforeVersion?: number): Promise<HistoryPage>
}

export function createHistoryRepository ({ documents, tableName }: Store): HistoryRepository {
  return {
    async write (tenant, recordId, change, pendingEventData) {
      try {
        await storeCall(() => documents.send(new PutCommand({
          TableName: tableName,
          Item: {
            ...historyKey(tenant, recordId, change.version),
            tenant,
            recordId,
            ...change,
            ...(pendingEventData === undefined ? {} : { eventData: pendingEventData, ...outboxAttributes(tenant, recordId, change.at) })
          },
          // History is append-only: an entry, once written, is never replaced.
          ConditionExpression: 'attribute_not_exists(pk)'
        })))
      } catch (error) {
        if (!isConditionFailed(error)) throw error
      }
    },

    async markEventDelivered (tenant, recordId, version) {
      try {
        await storeCall(() => documents.send(new UpdateCommand({
          TableName: tableName,
          Key: historyKey(tenant, recordId, version),
          UpdateExpression: 'REMOVE eventData, #outboxPk, #outboxSk',
          // Only an existing entry: never create a stub entry by updating a missing one.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#outboxPk': indexes.outbox.pk, '#outboxSk': indexes.outbox.sk }
        })))
      } catch (error) {
        if (!isConditionFailed(error)) throw error
      }
    },

    async list (tenant, recordId, limit, beforeVersion) {
      const { pk, prefix } = historyPartition(tenant, recordId)
      const { Items = [] } = await storeCall(() => documents.send(new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: beforeVersion === undefined ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk AND sk BETWEEN :prefix AND :last',
        ExpressionAttributeValues: beforeVersion === undefined ? { ':pk': pk, ':prefix': prefix } : { ':pk': pk, ':prefix': prefix, ':last': historySortKey(beforeVersion - 1) },
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
  const { recordId, version, action, at, actor, requestId, changes } = item as unknown as HistoryEntry
  return { recordId, version, action, at, actor, requestId, changes }
}
