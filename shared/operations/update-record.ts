import { PreconditionFailedError } from '../errors.ts'
import { etagOf, expectedVersion } from '../records/etag.ts'
import { applyRecordPatch } from '../records/model.ts'
import type { RecordPatch, SecurityRecord } from '../records/schema.ts'
import type { DataLayer } from './data-layer.ts'
import { assertDuplicateTarget, changeOf, conflictOf, holdsFingerprint, readSettled } from './record-writes.ts'
import type { RequestContext } from './request-context.ts'

/**
 * Applies a merge patch to the version `ifMatch` names (412 when it is not the current one,
 * 428 when absent). A new fingerprint is claimed before the write and the old one released
 * after it; a patch that changes nothing writes nothing. The record stays import-owned if it
 * was; `importScope` makes it so (an import taking over a record an earlier version of it made).
 */
export async function updateRecord (data: DataLayer, context: RequestContext, id: string, patch: RecordPatch, ifMatch: string | undefined, importScope?: string): Promise<SecurityRecord> {
  const { tenant } = context.actor
  const version = expectedVersion(ifMatch)
  const stored = await readSettled(data, tenant, id)
  const current = stored.record
  if (version !== current.version) throw new PreconditionFailedError(etagOf(current))
  const next = applyRecordPatch(current, patch, context)
  if (next === current) return current
  await assertDuplicateTarget(data, tenant, next, current)
  const newFingerprint = next.fingerprint !== current.fingerprint ? next.fingerprint : undefined
  if (newFingerprint) await data.fingerprints.claim(tenant, newFingerprint, id, context.now, holdsFingerprint(data, tenant, newFingerprint))
  const change = changeOf(context, 'updated', next.version, current, next)
  let replaced: boolean
  try {
    replaced = await data.records.replace(tenant, next, current.version, change, importScope ?? stored.importScope)
  } catch (error) {
    if (newFingerprint) await data.fingerprints.release(tenant, newFingerprint, id)
    throw error
  }
  if (!replaced) {
    if (newFingerprint) await data.fingerprints.release(tenant, newFingerprint, id)
    throw await conflictOf(data, tenant, id)
  }
  if (current.fingerprint && current.fingerprint !== next.fingerprint) await data.fingerprints.release(tenant, current.fingerprint, id)
  data.publisher.afterCommit(tenant, id, change, next)
  return next
}
