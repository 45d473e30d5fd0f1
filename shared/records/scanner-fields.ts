import { jsonEqual, mergePatch } from './merge-patch.ts'
import type { RecordCreate, SecurityRecord } from './schema.ts'

/**
 * Fields the scanner owns: a finding reported again (an event or an import) refreshes them. What
 * a person wrote (status and its reason, assignee, tags kept, risk acceptance, duplicate link) stays.
 */
export const scannerOwnedFields = ['title', 'description', 'category', 'severity', 'cvss', 'asset', 'component', 'vulnerabilityIds', 'cweIds', 'references', 'source'] as const

export type ScannerFields = Partial<Pick<RecordCreate, typeof scannerOwnedFields[number]>>

/**
 * The scanner-owned fields a report changes, as merge patch members: each reported field that
 * differs from the record (`cvss` by its vector, `asset` merged, `source` as `sameSource` says).
 * A severity the record derives from its vector follows a new vector unless the report sends one.
 */
export function scannerFieldChanges (current: SecurityRecord, reported: ScannerFields, sameSource: (reported: NonNullable<ScannerFields['source']>, current: SecurityRecord['source']) => boolean = jsonEqual): Record<string, unknown> {
  const patch: Record<string, unknown> = {}
  for (const field of scannerOwnedFields) {
    const value = reported[field]
    if (value === undefined) continue
    if (field === 'source') {
      if (!sameSource(value as NonNullable<ScannerFields['source']>, current.source)) patch.source = value
      continue
    }
    const currentValue = field === 'cvss' ? (current.cvss ? { vector: current.cvss.vector } : undefined) : current[field]
    const next = field === 'asset' ? mergePatch(current.asset, value) : value
    if (!jsonEqual(next, currentValue)) patch[field] = next
  }
  if (patch.cvss && reported.severity === undefined) patch.severity = null
  return patch
}
