import type { FastifyBaseLogger } from 'fastify'
import { recordChangeEvent, type EventSink } from '../events/record-events.ts'
import type { HistoryRepository } from '../store/history-repository.ts'
import type { Outbox } from '../store/outbox.ts'
import type { RecordsRepository, StoredRecord } from '../store/records-repository.ts'
import type { RecordChange } from './change.ts'
import type { SecurityRecord } from './schema.ts'

/**
 * What follows a committed record write, without transactions: the record item carries its
 * change (written in the same conditional write), and everything here is derived from it
 * idempotently: the history entry, then the CloudEvent. If a function dies half-way, the next
 * read or write of the record (or the outbox sweeper) runs the same steps again; history is
 * written exactly once, events at least once with a stable id.
 */
export function createChangePublisher (deps: { records: RecordsRepository, history: HistoryRepository, outbox: Outbox, sink: EventSink, log: Pick<FastifyBaseLogger, 'warn'> }) {
  const { records, history, outbox, sink, log } = deps

  /** Delivers the event of a written history entry; a sink failure leaves it in the outbox. */
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

  /** Finishes whatever an earlier writer left undone for this record item. */
  async function settle (tenant: string, stored: StoredRecord): Promise<void> {
    if (stored.pendingHistory) await afterCommit(tenant, stored.record.id, stored.pendingHistory, stored.deleted ? undefined : stored.record)
    else if (stored.deleted && stored.change) await records.purge(tenant, stored.record.id, stored.change.version)
  }

  return {
    afterCommit,
    settle,

    /**
     * The sweeper: settles what writers left undone and delivers owed events, for items that
     * waited longer than `olderThanMs` (younger ones are most likely being finished right now).
     */
    async sweep ({ olderThanMs = 30_000, now = new Date() } = {}): Promise<{ settled: number, delivered: number }> {
      let settled = 0
      let delivered = 0
      for (const entry of await outbox.due(new Date(now.getTime() - olderThanMs))) {
        if (entry.kind === 'record') {
          await settle(entry.tenant, entry.stored)
          settled++
        } else if (await deliver(entry.tenant, entry.recordId, entry.change, entry.data)) {
          delivered++
        }
      }
      return { settled, delivered }
    }
  }
}

export type ChangePublisher = ReturnType<typeof createChangePublisher>
