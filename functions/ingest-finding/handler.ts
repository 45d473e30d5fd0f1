import { randomUUID } from 'node:crypto'
import { CloudEvent } from 'cloudevents'
import { TENANT_PATTERN } from '../../shared/auth/token-verifier.ts'
import { invalidFields, TenantMismatchError } from '../../shared/errors.ts'
import { parseStrictJson } from '../../shared/http/json-body.ts'
import type { DataLayer } from '../../shared/operations/data-layer.ts'
import { ingestFinding } from '../../shared/operations/ingest-finding.ts'
import type { Actor } from '../../shared/records/model.ts'
import { FindingReport } from '../../shared/records/ingest-rules.ts'
import { serverFields } from '../../shared/records/vocabulary.ts'
import { bodyAjv, toFieldErrors } from '../../shared/validation.ts'

const serverFieldSet: ReadonlySet<string> = new Set(serverFields)

export const FINDING_REPORTED = 'com.mediamarktsaturn.security.finding.reported'

const validateReport = bodyAjv.compile<FindingReport>(FindingReport)
const tenantPattern = new RegExp(TENANT_PATTERN)
const MAX_IDENTITY_LENGTH = 256
/** A CloudEvent id is the producer's (any string, by the spec): kept in history beside the server's id, so bounded like an X-Request-Id. */
const MAX_EVENT_ID_LENGTH = 128

export interface IngestResult {
  outcome: 'created' | 'updated' | 'unchanged'
  id: string
  version: number
}

/**
 * The ingest-finding function in the Functions Framework's CloudEvent signature, plus who
 * reported: one `finding.reported` event in, the record of its fingerprint created or updated,
 * in the reporter's tenant and under the reporter's name. The reporter is never read from the
 * event by this function: the caller proved it (an access token, or a broker delivery whose
 * producer path stamped it). An event that can never succeed throws a 400, so the broker sends
 * it to the dead-letter sink instead of retrying it forever.
 */
export function createIngestFindingHandler (data: DataLayer) {
  /** `requestId`: the server's id of the delivery (history records it); the event's own id is kept beside it. */
  return async function handleFindingReported (event: CloudEvent<unknown>, reporter: Actor, requestId: string = randomUUID()): Promise<IngestResult> {
    if (event.type !== FINDING_REPORTED) throw invalidFields([{ path: '/type', message: `must be ${FINDING_REPORTED}` }])
    if (event.id.length > MAX_EVENT_ID_LENGTH) throw invalidFields([{ path: '/id', message: `must be at most ${MAX_EVENT_ID_LENGTH} characters` }])
    const report = validReport(typeof event.data === 'string' ? parseStrictJson(event.data) : event.data)
    const { outcome, record } = await ingestFinding(data, { actor: reporter, now: new Date(), requestId, clientRequestId: event.id }, report)
    return { outcome, id: record.id, version: record.version }
  }
}

/** A report as a finding body with a fingerprint, or a 400 naming each invalid field under `/data`. */
function validReport (data: unknown): FindingReport {
  if (!validateReport(data)) throw invalidFields(toFieldErrors(validateReport.errors ?? [], serverFieldSet).map((error) => ({ ...error, path: `/data${error.path}` })))
  return data
}

/**
 * The local path's rule: the reporter is the access token's; a `tenant` extension
 * naming another tenant is refused, never obeyed.
 */
export function checkTenantExtension (event: CloudEvent<unknown>, reporter: Actor): void {
  if (event.tenant !== undefined && event.tenant !== reporter.tenant) {
    throw new TenantMismatchError('The event\'s tenant extension names another tenant than your access token; findings are written to the token\'s tenant only (leave the extension out)')
  }
}

/**
 * The producer path (`POST /v1/findings`): the finding as the CloudEvent the broker delivers,
 * with the reporter from the access token stamped in the `tenant`, `producer` (token `sub`) and
 * `producerclient` (`client_id`) extensions.
 */
export function stampedFindingEvent (report: FindingReport, reporter: Actor): CloudEvent<FindingReport> {
  return new CloudEvent({
    specversion: '1.0',
    id: randomUUID(),
    type: FINDING_REPORTED,
    source: `/tenants/${reporter.tenant}/findings`,
    datacontenttype: 'application/json',
    tenant: reporter.tenant,
    producer: reporter.sub,
    producerclient: reporter.clientId,
    data: report
  }, true)
}

/** The reporter a broker delivery carries: what `stampedFindingEvent` stamped (its sender is checked before). */
export function stampedReporter (event: CloudEvent<unknown>): Actor {
  const { tenant, producer, producerclient: producerClient } = event
  const identity = (value: unknown) => typeof value === 'string' && value.length > 0 && value.length <= MAX_IDENTITY_LENGTH
  const errors = [
    ...(typeof tenant === 'string' && tenantPattern.test(tenant) ? [] : [{ path: '/tenant', message: 'the tenant extension is required (a tenant name)' }]),
    ...(identity(producer) ? [] : [{ path: '/producer', message: 'the producer extension is required (stamped by POST /v1/findings)' }]),
    ...(identity(producerClient) ? [] : [{ path: '/producerclient', message: 'the producerclient extension is required (stamped by POST /v1/findings)' }])
  ]
  if (errors.length > 0) throw invalidFields(errors)
  return { tenant: tenant as string, sub: producer as string, clientId: producerClient as string }
}
