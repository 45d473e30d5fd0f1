import type { ValidateFunction } from 'ajv'
import { IllegalTransitionError, invalidFields, type FieldError } from '../errors.ts'
import { bodyAjv, toFieldErrors } from '../validation.ts'
import { scoreCvssVector } from './cvss.ts'
import { jsonEqual, mergePatch } from './merge-patch.ts'
import { RecordCreate, type RecordPatch, type SecurityRecord } from './schema.ts'
import { serverFields, type Severity, type Status } from './vocabulary.ts'
import { canTransition, dueAtFor, maxRiskAcceptanceDays, statusesNeedingReason, statusTransitions } from './workflow.ts'

/** Fields a client may not write: sending one is named as such. */
const serverFieldSet: ReadonlySet<string> = new Set(serverFields)

/** Who is writing: taken from the verified access token, never from the body. */
export interface Actor {
  sub: string
  clientId: string
  tenant: string
  /** The person's display name, when a person signed in (the token's `name`). */
  name?: string
}

export interface WriteContext {
  actor: Actor
  now: Date
}

// Compiled on first use: only the functions that apply patches pay for it, not every cold start.
let validateWritable: ValidateFunction<RecordCreate> | undefined

/** Builds version 1 of a record from a validated create body. Throws a 400 naming every broken rule. */
export function buildNewRecord (input: RecordCreate, id: string, context: WriteContext): SecurityRecord {
  const now = context.now.toISOString()
  const record = derive(input, { id, version: 1, createdAt: now, updatedAt: now, statusChangedAt: now, createdBy: context.actor.sub, updatedBy: context.actor.sub })
  assertRules(record, undefined, context.now)
  return record
}

/**
 * Applies a merge patch to the current record and returns the next version, or the current
 * record itself when the patch changes nothing. Throws 409 for a forbidden status change and
 * 400 naming every broken rule.
 */
export function applyRecordPatch (current: SecurityRecord, patch: RecordPatch, context: WriteContext): SecurityRecord {
  if (patch.status !== undefined && !canTransition(current.status, patch.status)) {
    throw new IllegalTransitionError(current.status, patch.status, statusTransitions[current.status].join(', '))
  }
  const before = writableView(current)
  const merged = mergePatch(before, patch) as Record<string, unknown>
  const nextStatus = (merged.status ?? 'open') as Status
  // Leaving `duplicate` or `accepted_risk` retires the fields that only make sense there.
  if (nextStatus !== 'duplicate' && patch.duplicateOf === undefined) delete merged.duplicateOf
  if (nextStatus !== 'accepted_risk' && patch.riskAcceptance === undefined) delete merged.riskAcceptance
  // A new vector re-derives the severity unless the patch sets one.
  if (patch.cvss && patch.severity === undefined) delete merged.severity
  validateWritable ??= bodyAjv.compile<RecordCreate>(RecordCreate)
  if (!validateWritable(merged)) throw invalidFields(toFieldErrors(validateWritable.errors ?? [], serverFieldSet))
  if (jsonEqual(merged, before)) return current

  const now = context.now.toISOString()
  const next = derive(merged, {
    id: current.id,
    version: current.version + 1,
    createdAt: current.createdAt,
    updatedAt: now,
    statusChangedAt: merged.status === current.status ? current.statusChangedAt : now,
    createdBy: current.createdBy,
    updatedBy: context.actor.sub
  })
  assertRules(next, current, context.now)
  return next
}

/** The record as a client would have written it: what a merge patch applies to. */
function writableView (record: SecurityRecord): RecordCreate {
  const { id, version, createdAt, updatedAt, statusChangedAt, createdBy, updatedBy, dueAt, cvss, severity, ...rest } = record
  const view: RecordCreate = { ...rest, severity }
  if (cvss) view.cvss = { vector: cvss.vector }
  return view
}

type ServerSet = Pick<SecurityRecord, 'id' | 'version' | 'createdAt' | 'updatedAt' | 'statusChangedAt' | 'createdBy' | 'updatedBy'>

/** Adds what the server computes: CVSS score, severity from it when not given, status default, deadline. */
function derive (input: RecordCreate, server: ServerSet): SecurityRecord {
  const errors: FieldError[] = []
  const { cvss: cvssInput, severity: givenSeverity, ...fields } = input
  let cvss: SecurityRecord['cvss']
  if (cvssInput) {
    const scored = scoreCvssVector(cvssInput.vector)
    if (typeof scored === 'string') errors.push({ path: '/cvss/vector', message: scored })
    else cvss = scored
  }
  const severity: Severity | undefined = givenSeverity ?? cvss?.severity
  if (!severity && errors.length === 0) errors.push({ path: '/severity', message: 'is required unless cvss.vector is given' })
  if (errors.length > 0 || !severity) throw invalidFields(errors)
  const record: SecurityRecord = {
    id: server.id,
    version: server.version,
    ...fields,
    status: input.status ?? 'open',
    severity,
    createdAt: server.createdAt,
    updatedAt: server.updatedAt,
    statusChangedAt: server.statusChangedAt,
    createdBy: server.createdBy,
    updatedBy: server.updatedBy
  }
  if (cvss) record.cvss = cvss
  const dueAt = dueAtFor(severity, server.createdAt)
  if (dueAt) record.dueAt = dueAt
  return record
}

/** The rules that tie fields to the status (README "The record and its workflow"). */
function assertRules (record: SecurityRecord, previous: SecurityRecord | undefined, now: Date): void {
  const errors: FieldError[] = []
  if (statusesNeedingReason.includes(record.status) && !record.statusReason) {
    errors.push({ path: '/statusReason', message: `is required when status is ${record.status}` })
  }
  if (record.status === 'duplicate') {
    if (!record.duplicateOf) errors.push({ path: '/duplicateOf', message: 'is required when status is duplicate' })
    else if (record.duplicateOf === record.id) errors.push({ path: '/duplicateOf', message: 'cannot point at the record itself' })
  } else if (record.duplicateOf) {
    errors.push({ path: '/duplicateOf', message: 'is only allowed when status is duplicate' })
  }
  if (record.status === 'accepted_risk') {
    if (!record.riskAcceptance) errors.push({ path: '/riskAcceptance', message: 'is required when status is accepted_risk' })
  } else if (record.riskAcceptance) {
    errors.push({ path: '/riskAcceptance', message: 'is only allowed when status is accepted_risk' })
  }
  const acceptance = record.riskAcceptance
  if (acceptance && !jsonEqual(acceptance, previous?.riskAcceptance)) {
    const expiresAt = Date.parse(acceptance.expiresAt)
    if (expiresAt <= now.getTime()) errors.push({ path: '/riskAcceptance/expiresAt', message: 'must be in the future' })
    else if (expiresAt > now.getTime() + maxRiskAcceptanceDays * 86_400_000) {
      errors.push({ path: '/riskAcceptance/expiresAt', message: `must be at most ${maxRiskAcceptanceDays} days ahead` })
    }
  }
  if (errors.length > 0) throw invalidFields(errors)
}
