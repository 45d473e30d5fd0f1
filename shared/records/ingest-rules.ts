import { Type, type Static } from 'typebox'
import { scannerFieldChanges } from './scanner-fields.ts'
import { RecordCreate, type RecordPatch, type SecurityRecord } from './schema.ts'
import type { Status } from './vocabulary.ts'

/**
 * What a scanner reports (the data of a `finding.reported` event): a record body whose
 * `fingerprint` is required, and whose status can only say "still there" or "fixed".
 */
export const FindingReport = Type.Object({
  ...RecordCreate.properties,
  fingerprint: Type.String({ minLength: 1, maxLength: 256, description: 'The scanner\'s dedup key: a re-report with the same fingerprint updates the record.' }),
  status: Type.Optional(Type.Enum(['open', 'resolved'], { description: 'open (default): the scanner still sees it; resolved: it no longer does.' }))
}, { additionalProperties: false, description: 'A finding reported by a scanner.' })
export type FindingReport = Static<typeof FindingReport>

/** Statuses a person chose after looking at the finding: a scanner never overrides them. */
export const humanDecisions: readonly Status[] = ['false_positive', 'not_affected', 'accepted_risk', 'duplicate']

/**
 * The merge patch a re-report applies to the existing record:
 * - scanner-owned fields take the reported values; tags are merged, never dropped;
 * - a person's triage (assignee, status reason, risk acceptance, duplicate link) is kept;
 * - reported again while `resolved` → reopened; while a human decision stands → status kept,
 *   except a risk acceptance that has expired, which reopens;
 * - reported `resolved` while open, triaged or in progress → resolved.
 * Returns an empty patch when nothing changes.
 */
export function reReportPatch (current: SecurityRecord, report: FindingReport, now: Date): RecordPatch {
  const patch = scannerFieldChanges(current, report)
  if (report.tags) {
    const merged = [...new Set([...(current.tags ?? []), ...report.tags])].slice(0, 20)
    if (merged.length !== (current.tags ?? []).length) patch.tags = merged
  }
  const reportedStatus = report.status ?? 'open'
  const acceptanceLapsed = current.status === 'accepted_risk' && current.riskAcceptance !== undefined && Date.parse(current.riskAcceptance.expiresAt) <= now.getTime()
  if (reportedStatus === 'open') {
    if (current.status === 'resolved' || acceptanceLapsed) patch.status = 'open'
  } else if (!humanDecisions.includes(current.status) && current.status !== 'resolved') {
    patch.status = 'resolved'
  }
  return patch as RecordPatch
}
