import { DuplicateFingerprintError, IllegalTransitionError, IngestConflictError, InvalidRequestError, ItemTooLargeError, NotFoundError, PreconditionFailedError } from '../errors.ts'
import type { RecordChange } from '../records/change.ts'
import { etagOf } from '../records/etag.ts'
import { buildNewRecord } from '../records/model.ts'
import { MAX_IMPORT_ERRORS, type ImportCounts, type ImportError } from '../records/report-import.ts'
import type { SecurityRecord } from '../records/schema.ts'
import type { ImportState } from '../store/imports-repository.ts'
import type { StoredRecord } from '../store/records-repository.ts'
import type { DataLayer } from '../operations/data-layer.ts'
import { changeOf, creationWithDiff, insertRecord, RecordIdTakenError } from '../operations/record-writes.ts'
import type { RequestContext } from '../operations/request-context.ts'
import { updateRecord } from '../operations/update-record.ts'
import { retryOnConflict } from '../retry-on-conflict.ts'
import { CONCURRENCY, inPool } from './concurrency.ts'
import { importPatch } from './import-rules.ts'
import { importRecordId } from './import-record-id.ts'
import { legacyRecordToTakeOver } from './legacy-records.ts'
import type { ChunkResult } from './map-chunk.ts'
import type { ImportedFinding } from './report-format.ts'

/** Re-reads a result gets when another writer keeps changing its record. */
const RESULT_ATTEMPTS = 5

export type Outcome = 'created' | 'updated' | 'reopened' | 'unchanged'

/** What a chunk's batch reads found for one fingerprint: the record holding it, if any. */
export interface Holding {
  holderId?: string
  stored?: StoredRecord
}

/** A record this chunk inserted (or an earlier attempt did): its version 1 history entry is owed. */
export interface Inserted {
  record: SecurityRecord
  change: RecordChange
}

/** The counts and errors of an import so far; applying a chunk adds to them. */
export interface Tally {
  counts: ImportCounts
  errors: ImportError[]
}

/** How a chunk is applied: which of its fingerprints earlier chunks reported, and whether an interrupted attempt may have applied part of it. */
export interface ChunkHistory {
  reportedEarlier: Set<string>
  mayBeAppliedInPart: boolean
}

/** Errors by which the record rules refuse a result (an invalid record, a transition the workflow forbids, a record that kept changing or went away, or would not fit the store): the result is rejected and the import goes on. */
const refusals = [InvalidRequestError, IllegalTransitionError, IngestConflictError, NotFoundError, ItemTooLargeError]

export function isRefusal (error: unknown): boolean {
  return refusals.some((refusal) => error instanceof refusal)
}

/** Counts a result as rejected, keeping the first errors. */
export function reject (tally: Tally, path: string, message: string): void {
  tally.counts.rejected++
  if (tally.errors.length < MAX_IMPORT_ERRORS) tally.errors.push({ path, message: message.slice(0, 500) })
}

/** A chunk's findings by fingerprint, in report order; skipped and rejected results are counted. */
export function groupByFingerprint (results: readonly ChunkResult[], tally: Tally): Map<string, ChunkResult[]> {
  const byFingerprint = new Map<string, ChunkResult[]>()
  for (const result of results) {
    if (result.mapped.kind === 'skipped') tally.counts.skipped++
    else if (result.mapped.kind === 'rejected') reject(tally, result.path, result.mapped.message)
    else {
      const group = byFingerprint.get(result.mapped.finding.fingerprint)
      if (group) group.push(result)
      else byFingerprint.set(result.mapped.finding.fingerprint, [result])
    }
  }
  return byFingerprint
}

/**
 * Applies a chunk: results of distinct fingerprints side by side (those of one fingerprint in
 * order), starting from what `holdings` (the chunk's batch reads) found — a fingerprint it lacks
 * is read on its own. Returns the records it created (or an earlier attempt did), whose history
 * the caller writes in batches before the chunk's checkpoint, so an interrupted chunk, applied
 * again, writes what it still owes. False when `leaseHeld` (a checkpoint) found the lease lost:
 * nothing was written.
 */
export async function applyChunk (data: DataLayer, state: ImportState, results: readonly ChunkResult[], holdings: Map<string, Holding>, tally: Tally, leaseHeld: Promise<boolean>, chunk: ChunkHistory, resultsInFlight = CONCURRENCY): Promise<Inserted[] | false> {
  const { tenant } = state
  const byFingerprint = groupByFingerprint(results, tally)
  // Writes wait for a checkpoint: a processor that lost its lease writes nothing more.
  if (!await leaseHeld) return false
  const inserted: Inserted[] = []
  await inPool([...byFingerprint.entries()], async ([fingerprint, group]) => {
    // Only the first result of a fingerprint may use the batch read: the next ones follow its write.
    let holding = holdings.get(fingerprint)
    let pending = group
    const interruptedMayHaveCreated = chunk.mayBeAppliedInPart && !chunk.reportedEarlier.has(fingerprint)
    if (interruptedMayHaveCreated && await settleCreatedBefore(data, state, group[0]!, holding ??= await readHolding(data, tenant, fingerprint))) {
      tally.counts.created++
      pending = group.slice(1)
      holding = undefined
    }
    for (const result of pending) {
      const { finding, legacyFingerprint } = result.mapped as Extract<ChunkResult['mapped'], { kind: 'finding' }>
      const context: RequestContext = { actor: { ...state.actor, tenant }, now: new Date(), requestId: result.requestId }
      const outcomeIfThisImportMadeIt = result === group[0] ? (interruptedMayHaveCreated ? 'created' : chunk.reportedEarlier.has(fingerprint) ? 'unchanged' : undefined) : 'unchanged'
      const owner: Owner = { scopeKey: result.scopeKey, ...(legacyFingerprint === undefined ? {} : { legacyFingerprint, legacy: holding && holdings.get(legacyFingerprint) }) }
      try {
        tally.counts[await applyFinding(data, context, state, finding, inserted, owner, holding, outcomeIfThisImportMadeIt)]++
      } catch (error) {
        if (!isRefusal(error)) throw error
        reject(tally, result.path, (error as Error).message)
      }
      holding = undefined
    }
  }, resultsInFlight)
  return inserted
}

/**
 * Whose a record the result creates is: its scope's key, the mark of import-owned records. A
 * result of the earlier fingerprint scheme's kind takes over the record an import made under it
 * (`legacyFingerprint`, with what the chunk's batch read found of it) instead of making another.
 */
interface Owner {
  scopeKey: string
  legacyFingerprint?: string
  legacy?: Holding | undefined
}

/**
 * One result: creates the record of its fingerprint, or applies the re-import rules to it. When
 * the record's last change was this very result (an earlier attempt of this import that was
 * interrupted), that change is its outcome: it is counted once, written once, and its history
 * entry (if it was the creation) is owed again. `holding` is what the chunk's batch read found.
 * `outcomeIfThisImportMadeIt`: this import may have made the record already (an interrupted
 * attempt, or an earlier result of the fingerprint); if a person deleted it since, it is not made
 * again (its id would come back with the deletion in its history), and the result counts as that.
 */
async function applyFinding (data: DataLayer, context: RequestContext, state: ImportState, finding: ImportedFinding, inserted: Inserted[], owner: Owner, holding?: Holding, outcomeIfThisImportMadeIt?: Outcome): Promise<Outcome> {
  const { tenant } = context.actor
  // Someone else took the fingerprint, wrote the record or changed it since we read: read again.
  const isConflict = (error: unknown) => error instanceof DuplicateFingerprintError || error instanceof PreconditionFailedError || error instanceof RecordIdTakenError
  return await retryOnConflict({ attempts: RESULT_ATTEMPTS, isConflict, exhausted: () => new IngestConflictError() }, async (attempt) => {
    const { stored } = attempt === 0 && holding ? holding : await readHolding(data, tenant, finding.fingerprint)
    if (stored?.pendingHistory || stored?.deleted) await data.publisher.settle(tenant, stored)
    const current = stored && !stored.deleted && stored.record.fingerprint === finding.fingerprint ? stored.record : undefined
    if (!current) {
      if (owner.legacyFingerprint !== undefined) {
        const legacy = attempt === 0 && owner.legacy ? owner.legacy : await readHolding(data, tenant, owner.legacyFingerprint)
        const earlier = await legacyRecordToTakeOver(data, state, legacy.stored, owner.legacyFingerprint)
        if (earlier) {
          // Taken over: the result's fingerprint and the mark, with whatever else the result changes.
          const patch = { ...importPatch(earlier, finding), fingerprint: finding.fingerprint }
          await updateRecord(data, context, earlier.id, patch, etagOf(earlier), owner.scopeKey)
          return patch.status === 'open' ? 'reopened' : 'updated'
        }
      }
      const id = importRecordId(state, finding.fingerprint)
      // The record's partition keeps its history after a delete (the delete wrote an owed creation first).
      if (outcomeIfThisImportMadeIt && (await data.history.list(tenant, id, 1)).items.length > 0) return outcomeIfThisImportMadeIt
      inserted.push(await insertRecord(data, context, buildNewRecord(finding, id, context), 'owed-by-caller', owner.scopeKey))
      return 'created'
    }
    const patch = importPatch(current, finding)
    if (Object.keys(patch).length === 0) {
      const change = stored!.change
      if (change?.requestId !== context.requestId) return 'unchanged'
      if (change.action === 'created') inserted.push({ record: current, change: creationWithDiff(current, change) })
      return outcomeOf(change)
    }
    await updateRecord(data, context, current.id, patch, etagOf(current))
    return patch.status === 'open' ? 'reopened' : 'updated'
  })
}

/**
 * The guards of a chunk's fingerprints and the records holding them, in two batch reads; for a
 * fingerprint nobody holds, the guard of its legacy fingerprint (`legacyOf`) too, in a third.
 */
export async function readHoldings (data: DataLayer, tenant: string, fingerprints: string[], legacyOf: ReadonlyMap<string, string> = new Map()): Promise<Map<string, Holding>> {
  const holders = await data.fingerprints.holders(tenant, fingerprints)
  const legacy = [...new Set(fingerprints.flatMap((fingerprint) => holders.has(fingerprint) || !legacyOf.has(fingerprint) ? [] : [legacyOf.get(fingerprint)!]))]
  if (legacy.length > 0) for (const [fingerprint, holderId] of await data.fingerprints.holders(tenant, legacy)) holders.set(fingerprint, holderId)
  const held = await data.records.getStoredMany(tenant, [...new Set(holders.values())])
  return new Map([...fingerprints, ...legacy].map((fingerprint) => {
    const holderId = holders.get(fingerprint)
    return [fingerprint, holderId === undefined ? {} : { holderId, stored: held.get(holderId) }]
  }))
}

async function readHolding (data: DataLayer, tenant: string, fingerprint: string): Promise<Holding> {
  const holderId = await data.fingerprints.holder(tenant, fingerprint)
  return holderId === undefined ? {} : { holderId, stored: await data.records.getStored(tenant, holderId) }
}

/**
 * In a chunk an interrupted attempt may have applied in part: a record that attempt created and
 * somebody changed since (before this attempt came) no longer carries its creation, whose history
 * entry may still be owed. Its version 1 is rebuilt as it was made — the same result, import,
 * actor and time (the record's `createdAt`) — and settled like any owed change: written only if
 * the entry is missing. That result is counted as created and not applied again: what the person
 * changed after the creation stays, as it would have without the interruption. (A fingerprint an
 * earlier chunk reported had its entry written before that chunk's checkpoint: not asked here.)
 */
async function settleCreatedBefore (data: DataLayer, state: ImportState, first: ChunkResult, holding: Holding): Promise<boolean> {
  const { finding } = first.mapped as Extract<ChunkResult['mapped'], { kind: 'finding' }>
  const current = holding.stored?.record
  if (!current || holding.stored!.deleted || current.version === 1 || current.id !== importRecordId(state, finding.fingerprint)) return false
  const context: RequestContext = { actor: { ...state.actor, tenant: state.tenant }, now: new Date(current.createdAt), requestId: first.requestId }
  const created = buildNewRecord(finding, current.id, context)
  const change = changeOf(context, 'created', 1, undefined, created)
  await data.publisher.settle(state.tenant, { record: created, change, pendingHistory: change, deleted: false })
  return true
}

/** What a result counted as, when its record's last change was that result's own. */
export function outcomeOf (change: RecordChange): Outcome {
  if (change.action === 'created') return 'created'
  return change.changes.some((field) => field.path === '/status' && field.to === 'open') ? 'reopened' : 'updated'
}
