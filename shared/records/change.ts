import { isPlainObject, jsonEqual } from './merge-patch.ts'
import type { SecurityRecord } from './schema.ts'

/** One changed field: a JSON Pointer, the value before and after (`null` when absent). */
export interface FieldChange {
  path: string
  from: unknown
  to: unknown
}

export type ChangeAction = 'created' | 'updated' | 'deleted'

/**
 * Who made a change and through what: a person who signed in through a client (their token's
 * `sub` differs from its `client_id`), or a client acting for itself.
 */
export interface HistoryActor {
  type: 'user' | 'client'
  /** The token's `sub`: the person, or the client itself. */
  id: string
  /** The person's display name, when the token carried one. */
  name?: string
  clientId: string
}

export function historyActorOf (actor: { sub: string, clientId: string, name?: string | undefined }): HistoryActor {
  return {
    type: actor.sub === actor.clientId ? 'client' : 'user',
    id: actor.sub,
    ...(actor.name === undefined ? {} : { name: actor.name }),
    clientId: actor.clientId
  }
}

/** A stored actor in either shape: `{ type, id, name?, clientId }`, or `{ sub, clientId }` as entries written before people signed in. */
export function readHistoryActor (stored: unknown): HistoryActor {
  const actor = (stored ?? {}) as Partial<HistoryActor> & { sub?: string }
  if (typeof actor.type === 'string' && typeof actor.id === 'string') return historyActorOf({ sub: actor.id, clientId: String(actor.clientId), name: actor.name })
  return historyActorOf({ sub: String(actor.sub), clientId: String(actor.clientId) })
}

/** A committed change of a record: what the history entry and the CloudEvent are made from. */
export interface RecordChange {
  version: number
  action: ChangeAction
  at: string
  actor: HistoryActor
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
