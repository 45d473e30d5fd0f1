import type { FastifyBaseLogger } from 'fastify'
import { recordChangeEvent, type EventSink } from '../events/record-events.ts'
import type { HistoryRepository } from '../store/history-repository.ts'
import type { RecordChange } from '../records/change.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { RecordsRepository, StoredRecord } from '../store/records-repository.ts'

export interface ChangePublisher {
  /** The steps after a committed write: history entry, outbox mark (or purge), event. */
  afterCommit (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): Promise<void>
  /** Finishes whatever an earlier writer left undone for this record item. */
  settle (tenant: string, stored: StoredRecord): Promise<void>
  /** Delivers the event of a written history entry; false (and left in the outbox) when the sink failed. */
  deliver (tenant: string, recordId: string, change: RecordChange, data: unknown): Promise<boolean>
}

/**
 * What follows a committed record write, without transactions: the record item carries its
 * change (written in the same conditional write), and everything here is derived from it
 * idempotently: the history entry, then the CloudEvent. If a function dies half-way, the next
 * read or write of the record (or the outbox sweeper) runs the same steps again; history is
 * written exactly once, events at least once with a stable id.
 */
export function createChangePublisher (deps: { records: RecordsRepository, history: HistoryRepository, sink: EventSink, log: Pick<FastifyBaseLogger, 'warn'> }): ChangePublisher {
  const { records, history, sink, log } = deps

  async function deliver (tenant: string, recordId: string, change: RecordChange, data: unknown): Promise<boolean> {
    if (!sink.enabled) return true
    try {
      await sink.deliver(recordChangeEvent(tenant, recordId, change, data))
    } catch (error) {
      log.warn({ err: error, recordId, version: change.version }, 'event delivery failed; left in the outbox for retry')
      return false
    }
    await history.markEventDelivered(tenant, recordId, change.version)
    return true
  }

  async function afterCommit (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): Promise<void> {
    const eventData = change.action === 'deleted' ? { id: recordId } : record
    await history.write(tenant, recordId, change, sink.enabled ? eventData : undefined)
    if (change.action === 'deleted') await records.purge(tenant, recordId, change.version)
    else await records.markHistoryWritten(tenant, recordId, change.version)
    await deliver(tenant, recordId, change, eventData)
  }

  async function settle (tenant: string, stored: StoredRecord): Promise<void> {
    if (stored.pendingHistory) await afterCommit(tenant, stored.record.id, stored.pendingHistory, stored.deleted ? undefined : stored.record)
    else if (stored.deleted && stored.change) await records.purge(tenant, stored.record.id, stored.change.version)
  }

  return { afterCommit, settle, deliver }
}
