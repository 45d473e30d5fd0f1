import type { RecordChange } from '../records/change.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { importOwnerAttribute, internalAttributes, outboxAttributes, recordIndexAttributes, recordKey, type IndexLayout } from './keys.ts'

/** A record as an item of the table, and back. */

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
  /** The scope of the import that created it (keys.ts, importOwnerAttribute); absent on every other record. */
  importScope?: string
}

/**
 * The item of a record whose change nothing is owed for here (its history written, or owed by
 * the caller): the record, its index keys in the table's layout, the change that produced it.
 */
export function settledRecordItem (tenant: string, record: SecurityRecord, change: RecordChange, layout: IndexLayout, importScope?: string) {
  return {
    ...record,
    ...recordKey(tenant, record.id),
    ...recordIndexAttributes(tenant, record, layout),
    tenant,
    change,
    historyVersion: change.version,
    ...(importScope === undefined ? {} : { [importOwnerAttribute]: importScope })
  }
}

/**
 * The item a record is stored as at its commit: its change is owed to history and events until
 * the outbox entry is cleared.
 */
export function recordItem (tenant: string, record: SecurityRecord, change: RecordChange, layout: IndexLayout, importScope?: string) {
  return { ...settledRecordItem(tenant, record, change, layout, importScope), ...outboxAttributes(tenant, record.id, change.at), historyVersion: change.version - 1 }
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
    deleted: item.deleted === true,
    ...(typeof item[importOwnerAttribute] === 'string' ? { importScope: item[importOwnerAttribute] } : {})
  }
}
