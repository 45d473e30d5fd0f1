import { scannerFieldChanges } from '../records/scanner-fields.ts'
import type { RecordPatch, SecurityRecord } from '../records/schema.ts'
import { activeStatuses } from '../records/workflow.ts'
import { SUPPRESSION_REASON_PREFIX, type ImportedFinding, type ImportScope } from './report-format.ts'

/**
 * Re-import rules: what an import may change on a record of
 * its scope. The import owns the scanner's fields and the statuses it set itself; everything a
 * person decided (false_positive, not_affected, accepted_risk, duplicate, a manual resolve) stays.
 */

const RESOLUTION_PREFIX = 'Not reported by import '

/** The reason an import gives when it resolves a record its scope no longer reports; it names the import. */
export function resolutionReason (importId: string, scope: ImportScope): string {
  return `${RESOLUTION_PREFIX}${importId} (${scope.tool}${scope.category ? `, category ${scope.category}` : ''}, asset ${scope.asset})`
}

/** Resolved by an import (not by a person): the next import that reports it again may reopen it. */
export function resolvedByImport (record: SecurityRecord): boolean {
  return record.status === 'resolved' && record.statusReason?.startsWith(RESOLUTION_PREFIX) === true
}

/** Set `not_affected` by an import because the report suppressed the result. */
function suppressedByImport (record: SecurityRecord): boolean {
  return record.status === 'not_affected' && record.statusReason?.startsWith(SUPPRESSION_REASON_PREFIX) === true
}

/**
 * The merge patch a reported result applies to the record holding its fingerprint; empty when
 * nothing changes (an unchanged result writes nothing, emits nothing).
 * - the scanner's fields (`scannerOwnedFields`) take the reported values; `source.scanId` moves to this import only
 *   when something else changes;
 * - reported (not suppressed) while resolved or suppressed by an import: reopened;
 * - reported suppressed while open, triaged or in progress: not_affected with the justification;
 * - any other status is a person's decision and stays.
 */
export function importPatch (current: SecurityRecord, finding: ImportedFinding): RecordPatch {
  // `source` is compared without `scanId` (which import last wrote it).
  const patch = scannerFieldChanges(current, finding, (reported, was) => reported.tool === was?.tool && reported.ruleId === was?.ruleId)
  const source = finding.source
  if (finding.status === 'not_affected') {
    if (activeStatuses.includes(current.status)) Object.assign(patch, { status: 'not_affected', statusReason: finding.statusReason })
  } else if (resolvedByImport(current) || suppressedByImport(current)) {
    Object.assign(patch, { status: 'open', statusReason: null })
  }
  if (Object.keys(patch).length > 0 && source && !patch.source && source.scanId !== current.source?.scanId) patch.source = source
  return patch as RecordPatch
}

/** The patch resolving a record its scope's latest import no longer reports; undefined when a person owns its status. */
export function resolutionPatch (current: SecurityRecord, importId: string, scope: ImportScope): RecordPatch | undefined {
  if (!activeStatuses.includes(current.status)) return undefined
  return { status: 'resolved', statusReason: resolutionReason(importId, scope) }
}
