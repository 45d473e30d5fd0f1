import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { RecordChange } from '../records/change.ts'
import type { Store } from './client.ts'
import { expressions } from './expressions.ts'
import { IMPORT_SORT_KEY, indexes, outboxPartitions } from './keys.ts'
import { toStored, type StoredRecord } from './record-items.ts'
import { storeCall } from './store-errors.ts'

export type OutboxEntry =
  | { kind: 'record', tenant: string, stored: StoredRecord }
  | { kind: 'event', tenant: string, recordId: string, change: RecordChange, data: unknown }
  | { kind: 'import', tenant: string, importId: string }

/**
 * The outbox index lists only items that still owe work: record items whose history entry is
 * not written, history entries whose event is not delivered, and report imports not finished
 * (stamped with their last checkpoint). Reading it is a few Queries,
 * bounded per call, oldest first.
 */
export interface Outbox {
  /** Entries that have owed work since before `cutoff`, oldest first per partition. */
  due (cutoff: Date, limitPerPartition?: number): Promise<OutboxEntry[]>
}

export function createOutbox ({ documents, tableName }: Store): Outbox {
  return {
    async due (cutoff, limitPerPartition = 50) {
      const pages = await Promise.all(outboxPartitions.map((partition) => storeCall(() => documents.send(new QueryCommand({
        TableName: tableName,
        IndexName: indexes.outbox.name,
        ...expressions({ KeyConditionExpression: '#pk = :pk AND #sk < :cutoff' }, { pk: partition, cutoff: cutoff.toISOString() }, { pk: indexes.outbox.pk, sk: indexes.outbox.sk }),
        Limit: limitPerPartition
      })))))
      return pages.flatMap(({ Items = [] }) => Items.map((item): OutboxEntry => {
        const tenant = String(item.tenant)
        if (item.sk === 'RECORD') return { kind: 'record', tenant, stored: toStored(item) }
        if (item.sk === IMPORT_SORT_KEY) return { kind: 'import', tenant, importId: String(item.id) }
        const { recordId, version, action, at, actor, requestId, clientRequestId, changes } = item as unknown as RecordChange & { recordId: string }
        return { kind: 'event', tenant, recordId, change: { version, action, at, actor, requestId, ...(clientRequestId === undefined ? {} : { clientRequestId }), changes }, data: item.eventData }
      }))
    }
  }
}
