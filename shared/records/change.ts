import { isPlainObject, jsonEqual } from './merge-patch.ts'
import type { SecurityRecord } from './schema.ts'

/** One changed field: a JSON Pointer, the value before and after (`null` when absent). */
export interface FieldChange {
  path: string
  from: unknown
  to: unknown
}

export type ChangeAction = 'created' | 'updated' | 'deleted'

/** A committed change of a record: what the history entry and the CloudEvent are made from. */
export interface RecordChange {
  version: number
  action: ChangeAction
  at: string
  actor: { sub: string, clientId: string }
  requestId: string
  /** The caller's own id of the request, when it gave one. */
  clientRequestId?: string
  changes: FieldChange[]
}

/** Bookkeeping of every write; the change itself says who and when. */
const UNTRACKED = new Set(['id', 'version', 'createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'statusChangedAt'])

/**
 * The fields that differ between two versions, one entry per field: nested objects are compared
 * field by field (`/asset/environment`), arrays as a whole (`/tags`).
 */
export function diffRecords (before: SecurityRecord | undefined, after: SecurityRecord | undefined): FieldChange[] {
  const changes: FieldChange[] = []
  walk('', (before ?? {}) as Record<string, unknown>, (after ?? {}) as Record<string, unknown>, changes, true)
  return changes
}

function walk (prefix: string, before: Record<string, unknown>, after: Record<string, unknown>, changes: FieldChange[], top: boolean) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  for (const key of keys) {
    if (top && UNTRACKED.has(key)) continue
    const from = before[key]
    const to = after[key]
    const path = `${prefix}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
    if (isPlainObject(from) && isPlainObject(to)) walk(path, from, to, changes, false)
    else if (!jsonEqual(from, to)) changes.push({ path, from: from ?? null, to: to ?? null })
  }
}
