import type { CloudEvent } from 'cloudevents'
import { TENANT_PATTERN } from '../../shared/auth/token-verifier.ts'
import { invalidFields } from '../../shared/errors.ts'
import type { DataLayer } from '../../shared/operations/data-layer.ts'
import { ingestFinding } from '../../shared/operations/ingest-finding.ts'
import { FindingReport } from '../../shared/records/ingest-rules.ts'
import { bodyAjv, toFieldErrors } from '../../shared/validation.ts'

export const FINDING_REPORTED = 'com.mediamarktsaturn.security.finding.reported'
/** Who the audit trail names for changes made by this function. */
export const INGEST_CLIENT_ID = 'ingest-finding'

const validateReport = bodyAjv.compile<FindingReport>(FindingReport)
const tenantPattern = new RegExp(TENANT_PATTERN)

export interface IngestResult {
  outcome: 'created' | 'updated' | 'unchanged'
  id: string
  version: number
}

/**
 * The ingest-finding function in the Functions Framework's CloudEvent signature: one
 * `finding.reported` event in, the record of its fingerprint created or updated. An event that
 * can never succeed (wrong type, no tenant, invalid data) throws a 400, so the broker sends it
 * to the dead-letter sink instead of retrying it forever.
 */
export function createIngestFindingHandler (data: DataLayer) {
  return async function handleFindingReported (event: CloudEvent<unknown>): Promise<IngestResult> {
    if (event.type !== FINDING_REPORTED) throw invalidFields([{ path: '/type', message: `must be ${FINDING_REPORTED}` }])
    const tenant = event.tenant
    if (typeof tenant !== 'string' || !tenantPattern.test(tenant)) throw invalidFields([{ path: '/tenant', message: 'the tenant extension is required (a tenant name)' }])
    const report = typeof event.data === 'string' ? parseJson(event.data) : event.data
    if (!validateReport(report)) throw invalidFields(toFieldErrors(validateReport.errors ?? []).map((error) => ({ ...error, path: `/data${error.path}` })))
    const { outcome, record } = await ingestFinding(data, {
      actor: { sub: `event-source:${event.source}`, clientId: INGEST_CLIENT_ID, tenant },
      now: new Date(),
      requestId: event.id
    }, report)
    return { outcome, id: record.id, version: record.version }
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw invalidFields([{ path: '/data', message: 'must be JSON' }])
  }
}
