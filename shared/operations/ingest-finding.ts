import { DuplicateFingerprintError, IngestConflictError, PreconditionFailedError } from '../errors.ts'
import { etagOf } from '../records/etag.ts'
import { reReportPatch, type FindingReport } from '../records/ingest-rules.ts'
import type { SecurityRecord } from '../records/schema.ts'
import { retryOnConflict } from '../retry-on-conflict.ts'
import { createRecord } from './create-record.ts'
import type { DataLayer } from './data-layer.ts'
import type { RequestContext } from './request-context.ts'
import { updateRecord } from './update-record.ts'

export interface IngestOutcome {
  outcome: 'created' | 'updated' | 'unchanged'
  record: SecurityRecord
}

/** Re-reads a report gets when other writers keep winning the race for its record. */
const INGEST_ATTEMPTS = 5

/**
 * A scanner's report (the ingest-finding function): creates the record, or applies the
 * re-report rules to the one holding the fingerprint, through the same create and update as
 * the API. Races with other writers are retried.
 */
export async function ingestFinding (data: DataLayer, context: RequestContext, report: FindingReport): Promise<IngestOutcome> {
  const { tenant } = context.actor
  // Someone else took the fingerprint or changed the record since we read it: read again.
  const isConflict = (error: unknown) => error instanceof DuplicateFingerprintError || error instanceof PreconditionFailedError
  return await retryOnConflict({ attempts: INGEST_ATTEMPTS, isConflict, exhausted: () => new IngestConflictError() }, async () => {
    const holderId = await data.fingerprints.holder(tenant, report.fingerprint)
    const current = holderId === undefined ? undefined : await data.records.get(tenant, holderId)
    if (!current || current.fingerprint !== report.fingerprint) {
      const { record } = await createRecord(data, context, report)
      return { outcome: 'created', record }
    }
    const patch = reReportPatch(current, report, context.now)
    if (Object.keys(patch).length === 0) return { outcome: 'unchanged', record: current }
    const record = await updateRecord(data, context, current.id, patch, etagOf(current))
    return { outcome: record.version === current.version ? 'unchanged' : 'updated', record }
  })
}
