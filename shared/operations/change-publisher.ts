import type { FastifyBaseLogger } from 'fastify'
import { recordChangeEvent, type EventSink } from '../events/record-events.ts'
import type { HistoryRepository } from '../store/history-repository.ts'
import type { RecordChange } from '../records/change.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { RecordsRepository, StoredRecord } from '../store/records-repository.ts'

export interface ChangePublisher {
  /**
   * The steps after a committed write — history entry, outbox mark (or purge), event — started
   * without waiting: the write's response leaves at its commit point. The record item carries
   * the change, so whatever these steps have not finished (a crash, a store error) is finished by
   * the next read of the record or by the sweeper; `drain` waits for the ones still running.
   */
  afterCommit (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): void
  /**
   * The follow-up of records inserted with their history owed by the caller
   * (`insert` with `owed-by-caller`, an import): their events, side by side, then their version 1
   * history entries in batches — carrying the event into the outbox only where the sink failed.
   * The caller runs it again (after a crash) until it returned once.
   */
  publishInserted (tenant: string, inserted: ReadonlyArray<{ record: SecurityRecord, change: RecordChange }>): Promise<void>
  /** Finishes whatever an earlier writer left undone for this record item. */
  settle (tenant: string, stored: StoredRecord): Promise<void>
  /** Delivers the event of a written history entry; false (and left in the outbox) when the sink failed. */
  deliver (tenant: string, recordId: string, change: RecordChange, data: unknown): Promise<boolean>
  /** Waits for every follow-up this publisher started (before the process exits). */
  drain (): Promise<void>
}

/**
 * Follow-ups under way in this process, by table, record and version: a read that finds a change
 * still owing its history waits for the follow-up already running instead of racing it, so within
 * a process (the local stack runs every function in one) an event is delivered once.
 */
const inFlight = new Map<string, Promise<void>>()

/**
 * What follows a committed record write, without transactions: the record item carries its
 * change (written in the same conditional write), and everything here is derived from it
 * idempotently: the history entry, then the CloudEvent (an import's new records: the other way
 * round, see `publishInserted`). If a function dies half-way, the next
 * read or write of the record (or the outbox sweeper) runs the same steps again; history is
 * written exactly once, events at least once with a stable id.
 */
export function createChangePublisher (deps: { records: RecordsRepository, history: HistoryRepository, sink: EventSink, log: Pick<FastifyBaseLogger, 'warn'>, tableName: string }): ChangePublisher {
  const { records, history, sink, log } = deps
  const started = new Set<Promise<void>>()

  /** Sends one event to the sink; false (logged) when it failed. */
  async function send (tenant: string, recordId: string, change: RecordChange, data: unknown): Promise<boolean> {
    try {
      await sink.deliver(recordChangeEvent(tenant, recordId, change, data))
      return true
    } catch (error) {
      log.warn({ err: error, recordId, version: change.version }, 'event delivery failed; left in the outbox for retry')
      return false
    }
  }

  async function deliver (tenant: string, recordId: string, change: RecordChange, data: unknown): Promise<boolean> {
    if (!sink.enabled) return true
    if (!await send(tenant, recordId, change, data)) return false
    await history.markEventDelivered(tenant, recordId, change.version)
    return true
  }

  async function followUp (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): Promise<void> {
    const eventData = change.action === 'deleted' ? { id: recordId } : record
    await history.write(tenant, recordId, change, sink.enabled ? eventData : undefined)
    if (change.action === 'deleted') await records.purge(tenant, recordId, change.version)
    else await records.markHistoryWritten(tenant, recordId, change.version)
    await deliver(tenant, recordId, change, eventData)
  }

  /** The follow-up of one change, once per process at a time. */
  function followUpOnce (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): Promise<void> {
    const key = `${deps.tableName}\n${tenant}\n${recordId}\n${change.version}`
    const running = inFlight.get(key)
    if (running) return running
    const work = followUp(tenant, recordId, change, record).finally(() => inFlight.delete(key))
    inFlight.set(key, work)
    return work
  }

  function afterCommit (tenant: string, recordId: string, change: RecordChange, record: SecurityRecord | undefined): void {
    const work = followUpOnce(tenant, recordId, change, record)
      .catch((error: unknown) => log.warn({ err: error, recordId, version: change.version }, 'follow-up of a committed change failed; the next read or the sweeper finishes it'))
      .finally(() => started.delete(work))
    started.add(work)
  }

  /**
   * Events first: the entry of an event delivered is written without it, so a new record's event
   * costs no write of its own (no outbox mark to clear). Only the entries of events the sink
   * refused carry them into the outbox, for the sweeper. A crash between the two leaves the
   * entries unwritten and the import unfinished: taken up again, it delivers those events again
   * (the same ids: at least once) and writes the entries (unconditional puts of a settled
   * content: exactly once). An entry is written without its event only after that very event
   * was delivered, whichever attempt or writer wrote it last.
   */
  async function publishInserted (tenant: string, inserted: ReadonlyArray<{ record: SecurityRecord, change: RecordChange }>): Promise<void> {
    const delivered = sink.enabled ? await Promise.all(inserted.map(({ record, change }) => send(tenant, record.id, change, record))) : inserted.map(() => true)
    await history.writeSettled(tenant, inserted.map(({ record, change }, i) => ({ recordId: record.id, change, ...(delivered[i] ? {} : { pendingEventData: record }) })))
  }

  async function settle (tenant: string, stored: StoredRecord): Promise<void> {
    if (stored.pendingHistory) await followUpOnce(tenant, stored.record.id, stored.pendingHistory, stored.deleted ? undefined : stored.record)
    else if (stored.deleted && stored.change) await records.purge(tenant, stored.record.id, stored.change.version)
  }

  async function drain (): Promise<void> {
    while (started.size > 0) await Promise.allSettled([...started])
  }

  return { afterCommit, publishInserted, settle, deliver, drain }
}
