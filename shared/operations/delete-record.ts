import { PreconditionFailedError } from '../errors.ts'
import { etagOf, expectedVersion } from '../records/etag.ts'
import type { DataLayer } from './data-layer.ts'
import { changeOf, conflictOf, readSettled, settleOwedCreation } from './record-writes.ts'
import type { RequestContext } from './request-context.ts'

/** Deletes a record (only the version `ifMatch` names, when given) and frees its fingerprint. */
export async function deleteRecord (data: DataLayer, context: RequestContext, id: string, ifMatch: string | undefined): Promise<void> {
  const { tenant } = context.actor
  const conditional = ifMatch !== undefined
  const version = conditional ? expectedVersion(ifMatch) : undefined
  const stored = await readSettled(data, tenant, id)
  const current = stored.record
  if (conditional && version !== current.version) throw new PreconditionFailedError(etagOf(current))
  await settleOwedCreation(data, tenant, stored)
  const change = changeOf(context, 'deleted', current.version + 1, current)
  if (!await data.records.tombstone(tenant, current, change)) throw await conflictOf(data, tenant, id)
  if (current.fingerprint) await data.fingerprints.release(tenant, current.fingerprint, id)
  data.publisher.afterCommit(tenant, id, change, undefined)
}
