import { invalidFields, NotFoundError, PreconditionFailedError } from '../errors.ts'
import { diffRecords, historyActorOf, type ChangeAction, type RecordChange } from '../records/change.ts'
import { etagOf } from '../records/etag.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { HistoryWriter, StoredRecord } from '../store/records-repository.ts'
import type { DataLayer } from './data-layer.ts'
import type { RequestContext } from './request-context.ts'

/** The steps every record write shares: reading settled state, describing the change, checking references. */

export const recordNotFound = (id: string) => new NotFoundError(`No record with id ${id}`)

/** The change a write commits together with the record (the history entry and event derive from it). */
export function changeOf (context: RequestContext, action: ChangeAction, version: number, before?: SecurityRecord, after?: SecurityRecord): RecordChange {
  return {
    version,
    action,
    at: context.now.toISOString(),
    actor: historyActorOf(context.actor),
    requestId: context.requestId,
    ...(context.clientRequestId === undefined ? {} : { clientRequestId: context.clientRequestId }),
    changes: action === 'deleted' ? [] : diffRecords(before, after)
  }
}

/** A conditional write found the record moved on: a 404 when it is gone, else a 412 naming its current ETag. */
export async function conflictOf (data: DataLayer, tenant: string, id: string): Promise<Error> {
  const current = await data.records.getStored(tenant, id)
  return !current || current.deleted ? recordNotFound(id) : new PreconditionFailedError(etagOf(current.record))
}

/** A new record's id is taken already (an earlier attempt of an import wrote it first). */
export class RecordIdTakenError extends Error {
  constructor (id: string) {
    super(`A record with id ${id} exists`)
    this.name = 'RecordIdTakenError'
  }
}

/**
 * Writes version 1 of a record: claims its fingerprint, writes the record, then (`after-commit`)
 * its history entry and event; an import writes those itself (`owed-by-caller`), in batches
 * before its checkpoint, and marks it with its scope (`importScope`: the record is import-owned).
 * Returns the record with the change it was written with.
 */
export async function insertRecord (data: DataLayer, context: RequestContext, record: SecurityRecord, history: HistoryWriter = 'after-commit', importScope?: string): Promise<{ record: SecurityRecord, change: RecordChange }> {
  const { tenant } = context.actor
  await assertDuplicateTarget(data, tenant, record)
  const fingerprint = record.fingerprint
  if (fingerprint) await data.fingerprints.claim(tenant, fingerprint, record.id, context.now, holdsFingerprint(data, tenant, fingerprint))
  const change = changeOf(context, 'created', 1, undefined, record)
  let inserted: boolean
  try {
    inserted = await data.records.insert(tenant, record, change, history, importScope)
  } catch (error) {
    if (fingerprint) await data.fingerprints.release(tenant, fingerprint, record.id)
    throw error
  }
  // A record with this id exists (an import's earlier attempt wrote it first): the claim is rightly its.
  if (!inserted) throw new RecordIdTakenError(record.id)
  if (history === 'after-commit') data.publisher.afterCommit(tenant, record.id, change, record)
  return { record, change }
}

/** Reads a live record, first finishing what an earlier writer of it left undone. */
export async function readSettled (data: DataLayer, tenant: string, id: string): Promise<StoredRecord> {
  const stored = await data.records.getStored(tenant, id)
  if (!stored) throw recordNotFound(id)
  if (stored.pendingHistory || stored.deleted) await data.publisher.settle(tenant, stored)
  if (stored.deleted) throw recordNotFound(id)
  return stored
}

/**
 * A version 1 an import wrote with its history owed by the import (`insertRecord`, `owed-by-caller`):
 * the item keeps the creation without its diff, and the import writes the entry in a batch,
 * later, or after a crash when it is taken up again. Every other change carries its diff.
 */
function isCreationOwedByImport (change: RecordChange): boolean {
  return change.version === 1 && change.action === 'created' && change.changes.length === 0
}

/** The creation an import's record item keeps without its diff, as its history entry has it: version 1 is its own diff. */
export function creationWithDiff (record: SecurityRecord, made: RecordChange): RecordChange {
  return { ...made, changes: diffRecords(undefined, record) }
}

/**
 * Before a record leaves the table (a delete): the creation an import may still owe for it
 * written now, with its event, if it is not yet. Once the record is gone, the import, taken up
 * again, could not rebuild it (the record's `createdAt` goes with it). Nothing for any other record.
 */
export async function settleOwedCreation (data: DataLayer, tenant: string, { record, change: made }: StoredRecord): Promise<void> {
  if (!made || !isCreationOwedByImport(made)) return
  if ((await data.history.list(tenant, record.id, 1)).items.length > 0) return
  const creation = creationWithDiff(record, made)
  await data.publisher.settle(tenant, { record, change: creation, pendingHistory: creation, deleted: false })
}

/** `duplicateOf` must name a live record of the same tenant (checked when it changes). */
export async function assertDuplicateTarget (data: DataLayer, tenant: string, record: SecurityRecord, previous?: SecurityRecord): Promise<void> {
  if (!record.duplicateOf || record.duplicateOf === previous?.duplicateOf) return
  if (!(await data.records.get(tenant, record.duplicateOf))) {
    throw invalidFields([{ path: '/duplicateOf', message: `no record with id ${record.duplicateOf}` }])
  }
}

/** Tells the fingerprint guard whether a claim's record still carries the fingerprint (a stale claim can be taken over). */
export const holdsFingerprint = (data: DataLayer, tenant: string, fingerprint: string) => async (recordId: string) =>
  (await data.records.get(tenant, recordId))?.fingerprint === fingerprint
