import type { SecurityRecord } from '../records/schema.ts'

/** What a VEX says of a record: the decision its status is, its product, its vulnerability. Shared by both VEX exports. */

export type Decision = 'not_affected' | 'false_positive' | 'resolved' | 'affected' | 'under_investigation'

/**
 * A record's status as a VEX decision; undefined for a record nobody decided on yet (`open`)
 * and for a duplicate (its original carries the decision).
 */
export function decisionOf (record: SecurityRecord): Decision | undefined {
  switch (record.status) {
    case 'not_affected': return 'not_affected'
    case 'false_positive': return 'false_positive'
    case 'resolved': return 'resolved'
    case 'accepted_risk':
    case 'in_progress': return 'affected'
    case 'triaged': return 'under_investigation'
    default: return undefined
  }
}

/** What a person does about an affected record, as a VEX action statement says it. */
export function actionOf (record: SecurityRecord): string {
  if (record.status === 'accepted_risk') return `Risk accepted${record.riskAcceptance ? ` until ${record.riskAcceptance.expiresAt} by ${record.riskAcceptance.approvedBy}` : ''}${record.statusReason ? `: ${record.statusReason}` : ''}`
  return `Remediation in progress${record.assignee ? ` (${record.assignee})` : ''}`
}

/** The justification a reason starts with, when it is one of `labels` (the VEX's own vocabulary). */
export function justificationOf (reason: string | undefined, labels: readonly string[]): string | undefined {
  const first = reason?.match(/^[a-z_]+/)?.[0]
  return first !== undefined && labels.includes(first) ? first : undefined
}

/** A record a VEX can speak of: a decision, a vulnerability id, and a package URL to name the product by. */
export function vexSubject (record: SecurityRecord): { decision: Decision, ids: string[], purl: string } | undefined {
  const decision = decisionOf(record)
  const purl = record.component?.purl ?? record.asset.purl
  const ids = record.vulnerabilityIds ?? []
  if (!decision || !purl || ids.length === 0) return undefined
  return { decision, ids, purl }
}
